"""A real engine built on this machine (TensorRT-RTX builds without a GPU)."""
import hashlib
import io
import logging
import warnings

import onnx
import pytest

from depth_trt_ros.inference import tensorrt_runtime
from depth_trt_ros.inference.backends.base import ModelLoadError
from depth_trt_ros.inference.engine_build import (build_engine, BuildRequest, PhaseBar,
                                                  plan_precision, summarize_onnx)
from depth_trt_ros.inference.engine_meta import read_engine, sidecar_path
from depth_trt_ros.inference.engine_profile import parse_camera, profile_for_cameras


def test_onnx_has_dynamic_named_io_and_metadata(exported_tiny_onnx):
    proto = onnx.load(str(exported_tiny_onnx))
    assert max(o.version for o in proto.opset_import if o.domain in ('', 'ai.onnx')) >= 17
    (pixel_values,) = proto.graph.input
    (predicted_depth,) = proto.graph.output
    assert (pixel_values.name, predicted_depth.name) == ('pixel_values', 'predicted_depth')
    dims = pixel_values.type.tensor_type.shape.dim
    assert [d.dim_param != '' for d in dims] == [True, False, True, True]
    summary = summarize_onnx(exported_tiny_onnx)
    assert not summary.fp16
    assert summary.metadata['source_model'] == 'random:tiny'
    assert summary.sha256 == hashlib.sha256(exported_tiny_onnx.read_bytes()).hexdigest()


def test_engine_and_sidecar(exported_tiny_onnx, tiny_engine, cameras):
    metadata, plan = read_engine(tiny_engine)
    assert len(plan) > 100_000 and sidecar_path(tiny_engine).is_file()
    assert (metadata.input_name, metadata.output_name) == ('pixel_values', 'predicted_depth')
    assert metadata.io_dtypes == {'pixel_values': 'float32', 'predicted_depth': 'float32'}
    assert metadata.profile == profile_for_cameras([parse_camera(c) for c in cameras], 518, 2)
    assert metadata.cameras == list(cameras)
    assert metadata.precision == 'fp32' and metadata.strongly_typed
    assert metadata.model == 'random:tiny'
    assert metadata.preprocessing['input_size'] == 518
    assert metadata.preprocessing['multiple'] == 14
    assert metadata.tensorrt_module == tensorrt_runtime.MODULE_NAME
    assert metadata.tensorrt_version == tensorrt_runtime.VERSION
    assert metadata.onnx_sha256 == summarize_onnx(exported_tiny_onnx).sha256
    assert metadata.depth_estimation_type == 'relative'
    assert metadata.build_seconds > 0 and metadata.build_date.endswith('+00:00')
    if tensorrt_runtime.is_rtx():
        assert metadata.gpu_name is None and metadata.compute_capability is None
        assert metadata.target_compute_capabilities == ['8.0', '8.6', '8.9', '12.x']
        assert metadata.timing_cache is None, 'TensorRT-RTX ignores timing caches'
    else:
        assert metadata.target_compute_capabilities == [metadata.compute_capability]
        assert metadata.timing_cache and tiny_engine.with_name('timing.cache').is_file()


def test_fp16_is_built_or_refused_never_faked():
    assert plan_precision('fp16', onnx_fp16=False, fp16_flag=True) is True
    assert plan_precision('fp16', onnx_fp16=True, fp16_flag=False) is False
    assert plan_precision('fp32', onnx_fp16=False, fp16_flag=False) is False
    with pytest.raises(ValueError, match='needs an fp16 ONNX.*--precision fp32'):
        plan_precision('fp16', onnx_fp16=False, fp16_flag=False)
    with pytest.raises(ValueError, match='the ONNX is fp16'):
        plan_precision('fp32', onnx_fp16=True, fp16_flag=True)


def test_summarize_refuses_what_is_not_onnx(tmp_path):
    junk = tmp_path / 'junk.onnx'
    junk.write_bytes(b'\xff' * 64)
    with pytest.raises(ModelLoadError, match='not an ONNX model'):
        summarize_onnx(junk)


def test_phase_bar_logs_root_steps():
    stream = io.StringIO()
    bar = PhaseBar(stream, width=10)
    bar.start('Building engine', None, 2)
    bar.start('Timing tactics', 'Building engine', 5)
    bar.step('Timing tactics', 0)
    bar.finish('Timing tactics')
    bar.step('Building engine', 0)
    bar.step('Building engine', 1)
    bar.finish('Building engine')
    bar.close()
    assert stream.getvalue().splitlines() == [
        '[..........] 0/2 Building engine',
        '[#####.....] 1/2 Building engine',
        '[##########] 2/2 Building engine',
    ]


def test_timing_cache_file_is_written_and_reused(exported_tiny_onnx, tmp_path, monkeypatch,
                                                 caplog):
    """
    Drive the full-TensorRT timing-cache path through whichever module is here.

    TensorRT-RTX accepts the timing-cache calls as no-ops, so with it this
    checks the calls and the file handling, not that builds get faster.
    """
    if tensorrt_runtime.trt is None:
        pytest.skip('no TensorRT Python module is importable')
    monkeypatch.setattr(tensorrt_runtime, 'supports_timing_cache', lambda *_: True)
    cache = tmp_path / 'cache' / 'timing.cache'
    request = BuildRequest(model='random:tiny', precision='fp32',
                           profile=profile_for_cameras([(640, 480)], 518), cameras=['640x480'],
                           input_size=518, workspace_gb=1.0, timing_cache=cache)
    caplog.set_level(logging.INFO, logger='depth_trt_ros.inference.engine_build')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)  # TensorRT-RTX deprecates the calls
        first = build_engine(exported_tiny_onnx, tmp_path / 'a.engine', request)
        assert cache.is_file() and first.timing_cache == str(cache)
        build_engine(exported_tiny_onnx, tmp_path / 'b.engine', request)
    assert 'timing.cache: new' in caplog.text and 'timing.cache: reused' in caplog.text
