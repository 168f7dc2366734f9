"""
What an engine file holds besides the TensorRT plan, read without TensorRT.

Three kinds of engine file reach the TensorRT backend:

- this package's: a raw plan and the ``<engine>.json`` sidecar
  (:mod:`engine_meta`), which says what it was built with and for;
- ultralytics exports (``format=engine``): a 4-byte little-endian length,
  that many bytes of JSON metadata (``names``, ``imgsz``, ``stride``, ...),
  then the plan;
- engines users built themselves (trtexec, their own export script): a raw
  plan and nothing else.

A raw plan starts with TensorRT's magic (``ftrt``, ``vtrt`` for TensorRT-RTX),
never with a length followed by ``{``, so the two layouts cannot be confused.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple

from depth_trt_ros.inference.backends.base import ModelLoadError, parse_metadata_json
from depth_trt_ros.inference.engine_meta import EngineMetadata, read_engine, sidecar_path

LENGTH_BYTES = 4
# Ultralytics writes a few kB (80 COCO names and its export arguments).
MAX_METADATA_BYTES = 1 << 20
_COPY_AGAIN = 'copy the engine again or re-export it'


@dataclass
class EngineFile:
    """A plan to deserialize and what came with it: a sidecar or ultralytics' metadata."""

    path: Path
    plan: bytes
    sidecar: Optional[EngineMetadata] = None
    model_metadata: Dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        if self.sidecar is not None:
            return 'depth-trt-ros export'
        return 'ultralytics export' if self.model_metadata else 'engine without metadata'


def split_ultralytics_metadata(data: bytes, path) -> Tuple[Dict[str, str], bytes]:
    """Return ultralytics' metadata (empty for a raw plan) and the plan that follows it."""
    if len(data) <= LENGTH_BYTES:
        raise ModelLoadError(f"engine '{path}' is only {len(data)} bytes, too short to hold "
                             f'anything (truncated copy): {_COPY_AGAIN}')
    if data[LENGTH_BYTES:LENGTH_BYTES + 1] != b'{':
        return {}, data
    length = int.from_bytes(data[:LENGTH_BYTES], 'little')
    end = LENGTH_BYTES + length
    if length > MAX_METADATA_BYTES:
        raise ModelLoadError(f"engine '{path}' declares {length} bytes of metadata, more than "
                             f'the {MAX_METADATA_BYTES} any export writes (corrupt file): '
                             f'{_COPY_AGAIN}')
    if end >= len(data):
        raise ModelLoadError(f"engine '{path}' declares {length} bytes of metadata but the "
                             f'file has {len(data) - LENGTH_BYTES} after the length, leaving '
                             f'no engine (truncated copy): {_COPY_AGAIN}')
    metadata = parse_metadata_json(data[LENGTH_BYTES:end],
                                   f"the ultralytics metadata of engine '{path}'")
    return metadata, data[end:]


def read_engine_file(engine_path) -> EngineFile:
    """
    Read an engine and what describes it; refuse a missing, truncated or corrupt file.

    With a sidecar the engine's size and sha256 are checked against it;
    without one, an ultralytics metadata prefix is split off the plan.
    """
    path = Path(engine_path)
    if not path.is_file():
        raise ModelLoadError(f"engine '{path}' does not exist: build one with "
                             "'depth-trt-ros export' (Depth-Anything) or export one as "
                             'docs/detection.md describes (YOLO)')
    if sidecar_path(path).is_file():
        sidecar, plan = read_engine(path)
        return EngineFile(path, plan, sidecar)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelLoadError(f"cannot read engine '{path}': {error}") from error
    metadata, plan = split_ultralytics_metadata(data, path)
    return EngineFile(path, plan, None, metadata)
