"""
The JSON sidecar next to every engine, and the start-up checks it enables.

A serialized TensorRT engine only runs with the TensorRT version and on the
GPU it was built for, and only for input shapes inside its profile; when any
of these is wrong TensorRT fails late and cryptically. The sidecar
(``<engine>.json``) records what the engine was built for, so the backend can
refuse it up front with a message that says how to fix it. Everything here is
pure Python.
"""
from dataclasses import asdict, dataclass, fields
import hashlib
import json
from pathlib import Path
import shlex
from typing import Dict, List, Optional, Sequence, Tuple

from depth_trt_ros.inference.backends.base import ModelLoadError, UnsupportedFrameSize
from depth_trt_ros.inference.engine_profile import EngineProfile
from depth_trt_ros.inference.model import DEPTH_TYPE_KEY
from depth_trt_ros.inference.preprocess import network_input_size

SCHEMA_VERSION = 1
SIDECAR_SUFFIX = '.json'


@dataclass
class EngineMetadata:
    """What an engine was built from, for and how (one JSON object on disk)."""

    model: str
    precision: str
    input_name: str
    output_name: str
    io_dtypes: Dict[str, str]
    profile: EngineProfile
    cameras: List[str]
    preprocessing: Dict[str, object]
    tensorrt_module: str
    tensorrt_version: str
    gpu_name: Optional[str]
    compute_capability: Optional[str]
    target_compute_capabilities: List[str]
    gpu_note: str
    depth_estimation_type: str
    max_depth: float
    onnx_sha256: str
    engine_bytes: int
    engine_sha256: str
    build_date: str
    build_seconds: float
    strongly_typed: bool
    workspace_gb: float
    timing_cache: Optional[str]
    schema: int = SCHEMA_VERSION

    def to_dict(self) -> Dict[str, object]:
        data = asdict(self)
        data['profile'] = self.profile.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Dict[str, object], source: str = 'sidecar') -> 'EngineMetadata':
        """Parse a sidecar object; missing or malformed fields raise ModelLoadError."""
        if not isinstance(data, dict):
            raise ModelLoadError(f'{source} is not a JSON object: {_REBUILD_HINT}')
        if data.get('schema') != SCHEMA_VERSION:
            raise ModelLoadError(f"{source} has schema {data.get('schema')!r}, this package "
                                 f'reads schema {SCHEMA_VERSION}: {_REBUILD_HINT}')
        names = [f.name for f in fields(cls)]
        missing = [name for name in names if name not in data]
        if missing:
            raise ModelLoadError(f"{source} lacks {', '.join(missing)}: {_REBUILD_HINT}")
        values = {name: data[name] for name in names}
        try:
            values['profile'] = EngineProfile.from_dict(values['profile'])
        except (KeyError, TypeError) as error:
            raise ModelLoadError(f'{source} has a malformed profile ({error}): '
                                 f'{_REBUILD_HINT}') from error
        return cls(**values)

    def depth_facts(self) -> Dict[str, str]:
        """Return the depth keys of the model metadata, as an ONNX export stores them."""
        return {DEPTH_TYPE_KEY: self.depth_estimation_type, 'max_depth': str(self.max_depth)}

    def rebuild_command(self) -> str:
        """Return the export command that rebuilds this engine where it runs (DIR to fill in)."""
        cameras = ' '.join(f'--camera {camera}' for camera in self.cameras)
        return (f'depth-trt-ros export --model {shlex.quote(self.model)} '
                f'--precision {self.precision} '
                f"{cameras} --input-size {self.preprocessing['input_size']} "
                f'--max-batch {self.profile.max_shape[0]} --output-dir DIR')


_REBUILD_HINT = "rebuild the engine with 'depth-trt-ros export', which writes a fresh sidecar"


def sidecar_path(engine_path) -> Path:
    """``model.engine`` -> ``model.engine.json``."""
    engine_path = Path(engine_path)
    return engine_path.with_name(engine_path.name + SIDECAR_SUFFIX)


def write_sidecar(engine_path, metadata: EngineMetadata) -> Path:
    path = sidecar_path(engine_path)
    path.write_text(json.dumps(metadata.to_dict(), indent=2) + '\n')
    return path


def read_sidecar(engine_path) -> EngineMetadata:
    """Load and parse the sidecar of ``engine_path``; any problem is a ModelLoadError."""
    path = sidecar_path(engine_path)
    if not path.is_file():
        raise ModelLoadError(f"engine '{engine_path}' has no sidecar '{path}', so nothing says "
                             f'which TensorRT and GPU it was built for: {_REBUILD_HINT}')
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelLoadError(f"sidecar '{path}' is unreadable or not JSON ({error}): "
                             f'{_REBUILD_HINT}') from error
    return EngineMetadata.from_dict(data, source=f"sidecar '{path}'")


def read_engine(engine_path) -> Tuple[EngineMetadata, bytes]:
    """Return the sidecar and the engine bytes, refusing a missing, truncated or swapped engine."""
    path = Path(engine_path)
    if not path.is_file():
        raise ModelLoadError(f"engine '{path}' does not exist: build one with "
                             "'depth-trt-ros export'")
    metadata = read_sidecar(path)
    data = path.read_bytes()
    if len(data) != metadata.engine_bytes:
        raise ModelLoadError(f"engine '{path}' has {len(data)} bytes but its sidecar records "
                             f'{metadata.engine_bytes} (truncated or replaced copy): copy it '
                             f'again or {_REBUILD_HINT}')
    if hashlib.sha256(data).hexdigest() != metadata.engine_sha256:
        raise ModelLoadError(f"engine '{path}' does not match the sha256 in its sidecar "
                             f'(corrupt or replaced file): copy it again or {_REBUILD_HINT}')
    return metadata, data


def capability_matches(capability: str, targets: Sequence[str]) -> bool:
    """Whether compute capability ``8.6`` is among ``targets`` (``12.x`` is any 12 minor)."""
    major = capability.split('.')[0]
    return capability in targets or f'{major}.x' in targets


def check_runtime(metadata: EngineMetadata, module_name: str, version: str,
                  gpu_name: str, compute_capability: str):
    """
    Refuse an engine built for another TensorRT module, version, GPU or compute capability.

    Full TensorRT engines are tied to the build GPU (``gpu_name`` is set);
    TensorRT-RTX engines are portable (``gpu_name`` is None) and run on the
    compute capabilities they target.
    """
    fix = f'rebuild it on this machine: {metadata.rebuild_command()}'
    built = f'{metadata.tensorrt_module} {metadata.tensorrt_version}'
    if (metadata.tensorrt_module, metadata.tensorrt_version) != (module_name, version):
        raise ModelLoadError(f'the engine was built with {built} but this machine runs '
                             f'{module_name} {version}; engines only load in the TensorRT '
                             f'they were built with: {fix}')
    if not capability_matches(compute_capability, metadata.target_compute_capabilities):
        raise ModelLoadError(
            f'the engine targets compute capabilities '
            f"{', '.join(metadata.target_compute_capabilities) or 'none'} but this GPU "
            f"('{gpu_name}') has {compute_capability}: {fix}")
    if metadata.gpu_name and metadata.gpu_name != gpu_name:
        raise ModelLoadError(f"the engine was built and tuned on '{metadata.gpu_name}' but "
                             f"this GPU is '{gpu_name}': {fix}")


def check_input_shape(metadata: EngineMetadata, shape: Sequence[int]):
    """Refuse a ``pixel_values`` shape outside the engine's optimization profile."""
    if not metadata.profile.contains(shape):
        raise UnsupportedFrameSize(
            f'input shape {tuple(shape)} is outside the engine profile '
            f'({metadata.profile.describe()}): rebuild with --camera WIDTHxHEIGHT for this '
            f'camera (and --max-batch for larger batches), e.g. '
            f'{metadata.rebuild_command()} --camera <this camera>')


def check_frame_size(metadata: EngineMetadata, height: int, width: int,
                     input_size: int, batch: int = 1):
    """Refuse a camera resolution (and ``input_size``) the engine cannot take."""
    if input_size != metadata.preprocessing['input_size']:
        raise ModelLoadError(f"input_size {input_size} differs from the engine's "
                             f"{metadata.preprocessing['input_size']}: set input_size to "
                             f"{metadata.preprocessing['input_size']} or rebuild with "
                             f'--input-size {input_size}')
    check_input_shape(metadata, (batch, 3, *network_input_size(height, width, input_size)))
