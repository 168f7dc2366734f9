"""
Backend selection: the node names a backend, this module builds it.

:func:`build_backend` is the one way from settings (as the nodes' parameters
name them, ``auto`` included) to a backend: the nodes, bench, verify, replay
and evaluate all call it, so an ``auto`` means the same everywhere. Runtimes
are imported only when chosen, so a machine without TensorRT or ONNX Runtime
can still run the others.
"""
from pathlib import Path

from depth_trt_ros.inference.backends.base import Backend, ModelLoadError, resolve_device, \
    resolve_precision, UnsupportedFrameSize

BACKEND_NAMES = ('auto', 'tensorrt', 'onnxruntime', 'torch')
ENGINE_SUFFIXES = ('.engine', '.plan', '.trt')
TORCHSCRIPT_SUFFIX = '.torchscript'


def choose_backend(kind: str, model: str) -> str:
    """Resolve ``auto`` from the model reference: engine, ONNX, TorchScript or HF model."""
    if kind not in BACKEND_NAMES:
        raise ValueError(f"backend '{kind}' is not one of {BACKEND_NAMES}")
    if kind != 'auto':
        return kind
    suffix = Path(model).suffix.lower()
    if suffix in ENGINE_SUFFIXES:
        return 'tensorrt'
    if suffix == '.onnx':
        return 'onnxruntime'
    return 'torch'


def is_torchscript(model) -> bool:
    """Whether ``model`` names a TorchScript file (the torch backend runs it as is)."""
    return isinstance(model, str) and Path(model).suffix.lower() == TORCHSCRIPT_SUFFIX


def create_backend(kind: str, model: str, device: str = 'cpu', precision: str = 'fp32',
                   **options) -> Backend:
    """Build the backend ``kind`` (or the one ``auto`` picks) for ``model``."""
    kind = choose_backend(kind, model)
    if kind == 'torch' and is_torchscript(model):
        from depth_trt_ros.inference.backends.torchscript_backend import TorchScriptBackend
        return TorchScriptBackend(model, device, precision, **options)
    if kind == 'torch':
        from depth_trt_ros.inference.backends.torch_backend import TorchBackend
        return TorchBackend(model, device, precision, **options)
    if kind == 'onnxruntime':
        from depth_trt_ros.inference.backends.onnxruntime_backend import OnnxRuntimeBackend
        return OnnxRuntimeBackend(model, device, precision, **options)
    from depth_trt_ros.inference.backends.tensorrt_backend import TensorRTBackend
    return TensorRTBackend(model, device, precision, **options)


def build_backend(kind: str, model: str, device: str = 'auto', precision: str = 'auto',
                  cuda_graph: bool = True, torch_compile: bool = False, **options) -> Backend:
    """
    Build the backend that these settings describe, resolving every ``auto``.

    ``device`` auto is the first CUDA device where there is one; ``precision``
    auto is fp16 on CUDA and fp32 on the CPU, except for a TensorRT engine,
    whose precision was fixed when it was built (auto takes the engine's).
    ``torch_compile`` (torch backend, Hugging Face models, on CUDA) compiles
    the model with Inductor before it is graphed.
    """
    device = resolve_device(device)
    kind = choose_backend(kind, model)
    if kind != 'tensorrt':
        precision = resolve_precision(precision, device)
    if kind in ('torch', 'tensorrt'):
        options.setdefault('cuda_graph', cuda_graph)
    if torch_compile:
        if kind != 'torch' or is_torchscript(model):
            raise ValueError(f"torch_compile applies to the torch backend's Hugging Face "
                             f"models, not to {model} ({kind}): set torch_compile to false")
        options['torch_compile'] = True
    return create_backend(kind, model, device, precision, **options)


__all__ = ['Backend', 'BACKEND_NAMES', 'ModelLoadError', 'build_backend', 'choose_backend',
           'create_backend', 'UnsupportedFrameSize']
