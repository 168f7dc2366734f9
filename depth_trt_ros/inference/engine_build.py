"""
ONNX -> TensorRT engine, with a JSON sidecar that says what was built.

The precision written to the sidecar is the one TensorRT was actually asked
to build: a fp16 request is either honoured (fp16 ONNX as a strongly typed
network, or the weakly typed FP16 builder flag where TensorRT still has it)
or refused with the fix, never silently built as fp32.
"""
from dataclasses import dataclass
import datetime
import hashlib
import logging
from pathlib import Path
import sys
import time
from typing import Dict, Optional, Sequence, Tuple

import torch

from depth_trt_ros.inference import tensorrt_runtime
from depth_trt_ros.inference.backends.base import INPUT_NAME, ModelLoadError, OUTPUT_NAME
from depth_trt_ros.inference.engine_meta import EngineMetadata, write_sidecar
from depth_trt_ros.inference.engine_profile import EngineProfile
from depth_trt_ros.inference.preprocess import IMAGENET_MEAN, IMAGENET_STD, PATCH_MULTIPLE

_LOG = logging.getLogger(__name__)
_GIB = 1 << 30


@dataclass(frozen=True)
class OnnxSummary:
    """What the builder needs to know about an ONNX file before parsing it."""

    sha256: str
    fp16: bool
    metadata: Dict[str, str]


def summarize_onnx(path) -> OnnxSummary:
    """Hash ``path`` and read its input type and metadata (external weights stay on disk)."""
    from google.protobuf.message import DecodeError
    import onnx

    data = Path(path).read_bytes()
    try:
        proto = onnx.load_model_from_string(data)
    except DecodeError as error:
        raise ModelLoadError(f"'{path}' is not an ONNX model ({error}): export one with "
                             "'depth-trt-ros export --onnx-only'") from error
    inputs = {i.name: i.type.tensor_type.elem_type for i in proto.graph.input}
    if INPUT_NAME not in inputs:
        raise ModelLoadError(f"'{path}' has inputs {sorted(inputs)}, not '{INPUT_NAME}': "
                             "export it with 'depth-trt-ros export --onnx-only'")
    return OnnxSummary(sha256=hashlib.sha256(data).hexdigest(),
                       fp16=inputs[INPUT_NAME] == onnx.TensorProto.FLOAT16,
                       metadata={p.key: p.value for p in proto.metadata_props})


def plan_precision(requested: str, onnx_fp16: bool, fp16_flag: bool) -> bool:
    """
    Decide how to build ``requested``; return whether to use the weakly typed FP16 flag.

    Otherwise the network is strongly typed: TensorRT keeps the ONNX's types.
    """
    if onnx_fp16:
        if requested != 'fp16':
            raise ValueError('the ONNX is fp16, so its engine is fp16: export an fp32 ONNX '
                             'for an fp32 engine, or build with --precision fp16')
        return False
    if requested == 'fp32':
        return False
    if fp16_flag:
        return True
    raise ValueError(
        f'{tensorrt_runtime.MODULE_NAME} builds only strongly typed networks (no FP16 builder '
        'flag), so an fp16 engine needs an fp16 ONNX: run depth-trt-ros export --precision '
        'fp16 from the model on a CUDA machine (it exports fp16), or build with --precision '
        'fp32')


@dataclass(frozen=True)
class BuildRequest:
    """Everything an engine build depends on besides the ONNX file."""

    model: str
    precision: str
    profile: EngineProfile
    cameras: Sequence[str]
    input_size: int
    workspace_gb: float = 4.0
    timing_cache: Optional[Path] = None


class PhaseBar:
    """
    A one-line progress bar fed by TensorRT's builder phases.

    The fraction is the root phase's completed steps; the label is the
    innermost running phase, which is where a slow build spends its time.
    Logs (not a terminal) get one line per root step instead of redraws.
    """

    def __init__(self, stream=sys.stderr, width: int = 30):
        self._stream = stream
        self._width = width
        self._phases: Dict[str, Tuple[Optional[str], int, int]] = {}
        self._order = []
        self._shown = ''

    def start(self, name: str, parent: Optional[str], steps: int):
        self._phases[name] = (parent, max(steps, 1), 0)
        self._order.append(name)
        self._draw()

    def step(self, name: str, step: int):
        parent, steps, _ = self._phases[name]
        self._phases[name] = (parent, steps, step + 1)
        self._draw()

    def finish(self, name: str):
        self._phases.pop(name, None)
        self._order.remove(name)
        self._draw()

    def close(self):
        if self._shown and self._stream.isatty():
            self._stream.write('\n')
            self._stream.flush()

    def _draw(self):
        roots = [n for n in self._order if self._phases[n][0] not in self._phases]
        if not roots:
            return
        _, steps, done = self._phases[roots[0]]
        filled = self._width * min(done, steps) // steps
        bar = f"[{'#' * filled}{'.' * (self._width - filled)}] {done}/{steps}"
        if not self._stream.isatty():
            if bar != self._shown:
                self._stream.write(f'{bar} {roots[0]}\n')
                self._shown = bar
            return
        text = f'{bar} {self._order[-1][:50]}'
        if text != self._shown:
            self._stream.write('\r' + text.ljust(len(self._shown)))
            self._stream.flush()
            self._shown = text


def _progress_monitor(trt, bar: PhaseBar):
    """Wrap ``bar`` in a ``trt.IProgressMonitor`` (every TensorRT this package accepts has it)."""

    class Monitor(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)

        def phase_start(self, phase_name, parent_phase, num_steps):
            bar.start(phase_name, parent_phase, num_steps)

        def step_complete(self, phase_name, step):
            bar.step(phase_name, step)
            return True  # False would cancel the build

        def phase_finish(self, phase_name):
            bar.finish(phase_name)

    return Monitor()


def _target_gpu(trt_module_name: str) -> Tuple[Optional[str], Optional[str], list, str]:
    """(gpu name, compute capability, target capabilities, note) for the sidecar."""
    if tensorrt_runtime.is_rtx(trt_module_name):
        where = ('a machine with ' + torch.cuda.get_device_name()) if (
            torch.cuda.is_available()) else 'a machine without a GPU'
        return (None, None, list(tensorrt_runtime.RTX_DEFAULT_COMPUTE_CAPABILITIES),
                f'TensorRT-RTX ahead-of-time engine built on {where}; portable to the target '
                'compute capabilities, not tied to one GPU')
    if not torch.cuda.is_available():
        raise ValueError(f'{trt_module_name} builds for the GPU it runs on, but torch sees no '
                         'CUDA device: build on the robot with a CUDA build of torch')
    major, minor = torch.cuda.get_device_capability()
    capability = f'{major}.{minor}'
    return (torch.cuda.get_device_name(), capability, [capability],
            'full TensorRT engine: runs only on this GPU model')


def _load_timing_cache(config, path: Optional[Path]):
    if path is None:
        return None
    if not tensorrt_runtime.supports_timing_cache():
        _LOG.info('timing cache %s not used: TensorRT-RTX ignores timing caches', path)
        return None
    data = path.read_bytes() if path.is_file() else b''
    cache = config.create_timing_cache(data) if data else None
    if cache is None or not config.set_timing_cache(cache, ignore_mismatch=False):
        if data:
            _LOG.warning('timing cache %s is unreadable or from another TensorRT or GPU: '
                         'starting a new one', path)
            data = b''
        cache = config.create_timing_cache(b'')
        config.set_timing_cache(cache, ignore_mismatch=False)
    _LOG.info('timing cache %s: %s', path, f'reused ({len(data)} bytes)' if data else 'new')
    return cache


def _parse(trt, builder, logger, onnx_path: Path, strongly_typed: bool):
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if strongly_typed else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = '; '.join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelLoadError(f"TensorRT cannot parse '{onnx_path}': {errors}. Re-export it "
                             "with 'depth-trt-ros export --onnx-only'")
    tensors = {network.get_input(i).name: network.get_input(i)
               for i in range(network.num_inputs)}
    tensors.update({network.get_output(i).name: network.get_output(i)
                    for i in range(network.num_outputs)})
    if set(tensors) != {INPUT_NAME, OUTPUT_NAME}:
        raise ModelLoadError(f"'{onnx_path}' has tensors {sorted(tensors)}, expected "
                             f"'{INPUT_NAME}' -> '{OUTPUT_NAME}': export it with "
                             "'depth-trt-ros export --onnx-only'")
    # The parser must outlive the network's use: it owns the weights.
    return network, parser, {name: tensorrt_runtime.dtype_name(t.dtype)
                             for name, t in tensors.items()}


def _configure(trt, builder, request: BuildRequest, fp16_flag: bool, bar: PhaseBar):
    """Builder config: workspace, precision flag, profile, timing cache, progress."""
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(request.workspace_gb * _GIB))
    if fp16_flag:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    profile.set_shape(INPUT_NAME, request.profile.min_shape, request.profile.opt_shape,
                      request.profile.max_shape)
    config.add_optimization_profile(profile)
    config.progress_monitor = _progress_monitor(trt, bar)
    return config, _load_timing_cache(config, request.timing_cache)


def build_engine(onnx_path, engine_path, request: BuildRequest) -> EngineMetadata:
    """Build ``engine_path`` from ``onnx_path`` and write its sidecar; return the metadata."""
    trt = tensorrt_runtime.require_tensorrt()
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    summary = summarize_onnx(onnx_path)
    fp16_flag = plan_precision(request.precision, summary.fp16,
                               tensorrt_runtime.has_fp16_builder_flag(trt))
    gpu_name, capability, targets, gpu_note = _target_gpu(tensorrt_runtime.MODULE_NAME)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network, _parser, io_dtypes = _parse(trt, builder, logger, onnx_path, not fp16_flag)
    bar = PhaseBar()
    config, timing_cache = _configure(trt, builder, request, fp16_flag, bar)
    _LOG.info('building %s engine (%s, %s network) for %s with %s %s',
              request.precision, 'FP16 flag' if fp16_flag else 'strongly typed',
              io_dtypes[INPUT_NAME], request.profile.describe(),
              tensorrt_runtime.MODULE_NAME, tensorrt_runtime.VERSION)
    started = time.monotonic()
    try:
        serialized = builder.build_serialized_network(network, config)
    finally:
        bar.close()
    seconds = time.monotonic() - started
    if serialized is None:
        raise ModelLoadError(f"TensorRT failed to build an engine from '{onnx_path}' (see the "
                             'TensorRT messages above): check the workspace (--workspace-gb) '
                             'and the profile (--camera, --max-batch)')
    engine_bytes = memoryview(serialized)
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    engine_path.write_bytes(engine_bytes)
    if timing_cache is not None:
        request.timing_cache.parent.mkdir(parents=True, exist_ok=True)
        request.timing_cache.write_bytes(memoryview(config.get_timing_cache().serialize()))
    metadata = EngineMetadata(
        model=summary.metadata.get('source_model') or request.model,
        precision=request.precision, input_name=INPUT_NAME, output_name=OUTPUT_NAME,
        io_dtypes=io_dtypes, profile=request.profile, cameras=list(request.cameras),
        preprocessing={'input_size': request.input_size, 'mean': list(IMAGENET_MEAN),
                       'std': list(IMAGENET_STD), 'multiple': PATCH_MULTIPLE},
        tensorrt_module=tensorrt_runtime.MODULE_NAME,
        tensorrt_version=tensorrt_runtime.VERSION, gpu_name=gpu_name,
        compute_capability=capability, target_compute_capabilities=targets,
        gpu_note=gpu_note,
        depth_estimation_type=summary.metadata.get('depth_estimation_type', 'relative'),
        max_depth=float(summary.metadata.get('max_depth', 1.0)),
        onnx_sha256=summary.sha256, engine_bytes=engine_bytes.nbytes,
        engine_sha256=hashlib.sha256(engine_bytes).hexdigest(),
        build_date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        build_seconds=round(seconds, 2), strongly_typed=not fp16_flag,
        workspace_gb=request.workspace_gb,
        timing_cache=str(request.timing_cache) if timing_cache is not None else None)
    write_sidecar(engine_path, metadata)
    _LOG.info('built %s (%s, %.1f MB) in %.1f s', engine_path, request.precision,
              engine_bytes.nbytes / 1e6, seconds)
    return metadata
