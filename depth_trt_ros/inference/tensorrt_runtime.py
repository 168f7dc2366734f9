"""
The TensorRT Python module this machine offers, chosen once at import.

Robots (Jetson Orin, x86 with a data-centre or workstation GPU) have full
TensorRT as ``tensorrt``; RTX desktops and CPU-only build hosts may have
TensorRT for RTX as ``tensorrt_rtx``. Both speak the TensorRT 10 API (named
tensors, ``set_tensor_address``, ``execute_async_v3``), so the rest of the
package has one code path and asks this module only about the differences.
"""
import importlib
from types import ModuleType
from typing import Callable, Optional, Sequence, Tuple

from depth_trt_ros.inference.backends.base import ModelLoadError

MODULE_NAMES = ('tensorrt', 'tensorrt_rtx')
RTX_MODULE_NAME = 'tensorrt_rtx'
# Strongly typed networks, IProgressMonitor and the named-tensor API all exist from 10.0.
MIN_TENSORRT_MAJOR = 10
# TensorRT-RTX's default ahead-of-time engines run on these compute
# capabilities (docs: "CPU-Only AOT and TensorRT-RTX Engines"); '12.x' is any
# Blackwell minor. Turing (7.5) and Hopper (9.0, H100/H200) are not included.
RTX_DEFAULT_COMPUTE_CAPABILITIES = ('8.0', '8.6', '8.9', '12.x')
INSTALL_HINT = ('install TensorRT 10+ (Jetson: JetPack 6 python3-libnvinfer; x86: '
                "'pip install tensorrt') or TensorRT for RTX ('pip install tensorrt-rtx-cu13')")


def select_module(names: Sequence[str] = MODULE_NAMES,
                  import_module: Callable[[str], ModuleType] = importlib.import_module
                  ) -> Tuple[Optional[ModuleType], Optional[str], str]:
    """
    Import the first module of ``names`` that works.

    Returns ``(module, name, why_none)``: the module and its name, or
    ``(None, None, reason)`` listing why each candidate failed, so that the
    error is raised where TensorRT is actually needed, not at import.
    """
    failures = []
    for name in names:
        try:
            return import_module(name), name, ''
        except (ImportError, OSError) as error:  # OSError: Python module without its .so
            failures.append(f'{name}: {error}')
    return None, None, '; '.join(failures)


trt, MODULE_NAME, _UNAVAILABLE_REASON = select_module()
VERSION: Optional[str] = getattr(trt, '__version__', None)


def check_version(module_name: str, version: str):
    """Refuse full TensorRT older than 10 (JetPack 5's 8.x lacks what the package uses)."""
    if is_rtx(module_name):
        return
    major = version.split('.')[0]
    if not major.isdigit() or int(major) < MIN_TENSORRT_MAJOR:
        raise ModelLoadError(f'{module_name} {version} is too old: this package needs TensorRT '
                             f'{MIN_TENSORRT_MAJOR} or newer: {INSTALL_HINT}')


def require_tensorrt() -> ModuleType:
    """Return the TensorRT module, or raise a ModelLoadError that says how to install one."""
    if trt is None:
        raise ModelLoadError(f'no TensorRT Python module is importable ({_UNAVAILABLE_REASON}): '
                             f'{INSTALL_HINT}')
    check_version(MODULE_NAME, VERSION)
    return trt


def is_rtx(module_name: Optional[str] = None) -> bool:
    """Whether ``module_name`` (default: the imported one) is TensorRT for RTX."""
    return (module_name or MODULE_NAME) == RTX_MODULE_NAME


def has_fp16_builder_flag(module: ModuleType) -> bool:
    """
    Whether the builder can lower an fp32 network to fp16 (weakly typed build).

    TensorRT-RTX, and TensorRT releases that dropped weak typing, only build
    strongly typed networks: there fp16 needs an fp16 ONNX.
    """
    return hasattr(module.BuilderFlag, 'FP16')


def supports_timing_cache(module_name: Optional[str] = None) -> bool:
    """TensorRT-RTX 1.2+ accepts timing-cache calls but ignores them (deprecated no-ops)."""
    return not is_rtx(module_name)


# TensorRT DataType names -> torch/numpy dtype names, as the sidecar stores them.
_DTYPE_NAMES = {'FLOAT': 'float32', 'HALF': 'float16', 'BF16': 'bfloat16', 'INT32': 'int32'}


def dtype_name(trt_dtype) -> str:
    """``DataType.HALF`` -> ``'float16'``."""
    if trt_dtype.name not in _DTYPE_NAMES:
        raise ModelLoadError(f'engine tensor type {trt_dtype.name} is not one this package '
                             f"feeds ({', '.join(_DTYPE_NAMES)}): re-export the ONNX")
    return _DTYPE_NAMES[trt_dtype.name]
