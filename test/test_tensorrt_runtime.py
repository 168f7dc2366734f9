"""Choosing the TensorRT module: tensorrt first, tensorrt_rtx second, a clear error else."""
from types import SimpleNamespace

import pytest

from depth_trt_ros.inference import tensorrt_runtime
from depth_trt_ros.inference.backends.base import ModelLoadError


def _importer(available):
    def import_module(name):
        if name not in available:
            raise ModuleNotFoundError(f"No module named '{name}'")
        return SimpleNamespace(__name__=name)
    return import_module


def test_full_tensorrt_wins_when_both_are_installed():
    module, name, _ = tensorrt_runtime.select_module(
        import_module=_importer({'tensorrt', 'tensorrt_rtx'}))
    assert name == 'tensorrt' and module.__name__ == 'tensorrt'


def test_tensorrt_rtx_is_the_fallback():
    _, name, _ = tensorrt_runtime.select_module(import_module=_importer({'tensorrt_rtx'}))
    assert name == 'tensorrt_rtx'


def test_module_with_missing_libraries_is_skipped():
    def import_module(name):
        if name == 'tensorrt':
            raise OSError('libnvinfer.so.10: cannot open shared object file')
        return SimpleNamespace(__name__=name)

    _, name, _ = tensorrt_runtime.select_module(import_module=import_module)
    assert name == 'tensorrt_rtx'


def test_no_module_reports_every_failure():
    module, name, reason = tensorrt_runtime.select_module(import_module=_importer(set()))
    assert module is None and name is None
    assert 'tensorrt:' in reason and 'tensorrt_rtx:' in reason


def test_require_tensorrt_names_the_install_fix(monkeypatch):
    monkeypatch.setattr(tensorrt_runtime, 'trt', None)
    with pytest.raises(ModelLoadError, match='pip install tensorrt'):
        tensorrt_runtime.require_tensorrt()


def test_module_differences():
    weak = SimpleNamespace(BuilderFlag=SimpleNamespace(FP16=1))
    strong_only = SimpleNamespace(BuilderFlag=SimpleNamespace(TF32=1))
    assert tensorrt_runtime.has_fp16_builder_flag(weak)
    assert not tensorrt_runtime.has_fp16_builder_flag(strong_only)
    assert tensorrt_runtime.supports_timing_cache('tensorrt')
    assert not tensorrt_runtime.supports_timing_cache('tensorrt_rtx')


def test_dtype_names():
    assert tensorrt_runtime.dtype_name(SimpleNamespace(name='HALF')) == 'float16'
    assert tensorrt_runtime.dtype_name(SimpleNamespace(name='FLOAT')) == 'float32'
    with pytest.raises(ModelLoadError, match='INT8'):
        tensorrt_runtime.dtype_name(SimpleNamespace(name='INT8'))


def test_imported_module_is_described():
    if tensorrt_runtime.trt is None:
        pytest.skip('no TensorRT Python module is importable')
    assert tensorrt_runtime.MODULE_NAME in tensorrt_runtime.MODULE_NAMES
    assert tensorrt_runtime.VERSION == tensorrt_runtime.trt.__version__


def test_tensorrt_older_than_10_is_refused():
    tensorrt_runtime.check_version('tensorrt', '10.3.0.30')
    tensorrt_runtime.check_version('tensorrt_rtx', '1.7.1.116')
    with pytest.raises(ModelLoadError, match='8.5.2 is too old.*TensorRT 10 or newer'):
        tensorrt_runtime.check_version('tensorrt', '8.5.2')
