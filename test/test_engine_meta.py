"""Sidecar validation: every way an engine can be wrong fails with a fix, no GPU needed."""
import dataclasses
import hashlib
import json

import pytest

from depth_trt_ros.inference.backends.base import ModelLoadError
from depth_trt_ros.inference.engine_meta import (check_frame_size, check_input_shape,
                                                 check_runtime, EngineMetadata, read_engine,
                                                 read_sidecar, sidecar_path, write_sidecar)
from depth_trt_ros.inference.engine_profile import profile_for_cameras

PLAN = b'not a real plan, but bytes the checks can hash' * 100


def _metadata(**changes) -> EngineMetadata:
    base = EngineMetadata(
        model='depth-anything/Depth-Anything-V2-Small-hf', precision='fp16',
        input_name='pixel_values', output_name='predicted_depth',
        io_dtypes={'pixel_values': 'float16', 'predicted_depth': 'float16'},
        profile=profile_for_cameras([(640, 480), (1280, 720)], 518),
        cameras=['640x480', '1280x720'],
        preprocessing={'input_size': 518, 'mean': [0.485, 0.456, 0.406],
                       'std': [0.229, 0.224, 0.225], 'multiple': 14},
        tensorrt_module='tensorrt', tensorrt_version='10.3.0', gpu_name='Orin',
        compute_capability='8.7', target_compute_capabilities=['8.7'],
        gpu_note='full TensorRT engine', depth_estimation_type='relative', max_depth=1.0,
        onnx_sha256='0' * 64, engine_bytes=len(PLAN),
        engine_sha256=hashlib.sha256(PLAN).hexdigest(), build_date='2026-01-01T00:00:00+00:00',
        build_seconds=60.0, strongly_typed=True, workspace_gb=4.0, timing_cache=None)
    return dataclasses.replace(base, **changes)


@pytest.fixture
def engine(tmp_path):
    path = tmp_path / 'model.engine'
    path.write_bytes(PLAN)
    write_sidecar(path, _metadata())
    return path


def test_sidecar_round_trip(engine):
    assert sidecar_path(engine).name == 'model.engine.json'
    metadata, plan = read_engine(engine)
    assert metadata == _metadata() and plan == PLAN


def test_missing_engine(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist: build one with 'depth-trt-ros"):
        read_engine(tmp_path / 'absent.engine')


def test_missing_sidecar(engine):
    sidecar_path(engine).unlink()
    with pytest.raises(ModelLoadError, match='has no sidecar.*rebuild the engine'):
        read_engine(engine)


def test_corrupt_sidecar(engine):
    sidecar_path(engine).write_text('{"model": "x", ')
    with pytest.raises(ModelLoadError, match='not JSON.*rebuild'):
        read_sidecar(engine)


@pytest.mark.parametrize('payload, message', [
    ('[]', 'not a JSON object'),
    ('{"schema": 99}', 'schema 99'),
])
def test_sidecar_of_another_kind(engine, payload, message):
    sidecar_path(engine).write_text(payload)
    with pytest.raises(ModelLoadError, match=message):
        read_sidecar(engine)


def test_sidecar_missing_fields(engine):
    data = json.loads(sidecar_path(engine).read_text())
    del data['tensorrt_version'], data['profile']
    sidecar_path(engine).write_text(json.dumps(data))
    with pytest.raises(ModelLoadError, match='lacks profile, tensorrt_version'):
        read_sidecar(engine)


def test_sidecar_malformed_profile(engine):
    data = json.loads(sidecar_path(engine).read_text())
    data['profile'] = {'min': [1, 3, 518, 686]}
    sidecar_path(engine).write_text(json.dumps(data))
    with pytest.raises(ModelLoadError, match='malformed profile'):
        read_sidecar(engine)


def test_truncated_engine(engine):
    engine.write_bytes(PLAN[:-10])
    with pytest.raises(ModelLoadError, match='truncated or replaced'):
        read_engine(engine)


def test_corrupt_engine_of_the_same_size(engine):
    engine.write_bytes(b'X' + PLAN[1:])
    with pytest.raises(ModelLoadError, match='sha256.*corrupt or replaced'):
        read_engine(engine)


def test_matching_runtime_passes():
    check_runtime(_metadata(), 'tensorrt', '10.3.0', 'Orin', '8.7')


@pytest.mark.parametrize('module, version', [('tensorrt', '10.7.0'),
                                             ('tensorrt_rtx', '10.3.0')])
def test_other_tensorrt_is_refused(module, version):
    with pytest.raises(ModelLoadError, match='built with tensorrt 10.3.0.*depth-trt-ros export '
                       '--model depth-anything/Depth-Anything-V2-Small-hf --precision fp16 '
                       '--camera 640x480 --camera 1280x720 --input-size 518 --max-batch 1'):
        check_runtime(_metadata(), module, version, 'Orin', '8.7')


def test_other_compute_capability_is_refused():
    with pytest.raises(ModelLoadError, match=r"targets compute capabilities 8.7.*\('NVIDIA A10'\)"
                       ' has 8.6: rebuild it on this machine'):
        check_runtime(_metadata(), 'tensorrt', '10.3.0', 'NVIDIA A10', '8.6')


def test_other_gpu_model_is_refused():
    metadata = _metadata(gpu_name='NVIDIA GeForce RTX 3090', compute_capability='8.6',
                         target_compute_capabilities=['8.6'])
    with pytest.raises(ModelLoadError, match="tuned on 'NVIDIA GeForce RTX 3090'"):
        check_runtime(metadata, 'tensorrt', '10.3.0', 'NVIDIA A10', '8.6')


def test_rtx_engine_runs_on_its_targets_and_refuses_hopper():
    metadata = _metadata(tensorrt_module='tensorrt_rtx', tensorrt_version='1.7.1.116',
                         gpu_name=None, compute_capability=None,
                         target_compute_capabilities=['8.0', '8.6', '8.9', '12.x'])
    check_runtime(metadata, 'tensorrt_rtx', '1.7.1.116', 'NVIDIA GeForce RTX 4090', '8.9')
    check_runtime(metadata, 'tensorrt_rtx', '1.7.1.116', 'NVIDIA GB10', '12.1')
    for gpu, capability in (('NVIDIA H200', '9.0'), ('NVIDIA GeForce RTX 2080 Ti', '7.5')):
        with pytest.raises(ModelLoadError, match=f'this GPU .*{gpu}.* has {capability}'):
            check_runtime(metadata, 'tensorrt_rtx', '1.7.1.116', gpu, capability)


def test_input_outside_profile_is_refused():
    check_input_shape(_metadata(), (1, 3, 518, 924))
    with pytest.raises(ModelLoadError, match=r'outside the engine profile \(batch 1-1, height '
                       r'518-518, width 686-924\): rebuild with --camera'):
        check_input_shape(_metadata(), (1, 3, 518, 518))


def test_camera_resolution_checked_before_the_first_frame():
    check_frame_size(_metadata(), 720, 1280, 518)
    with pytest.raises(ModelLoadError, match='outside the engine profile'):
        check_frame_size(_metadata(), 1080, 1080, 518)
    with pytest.raises(ModelLoadError, match='outside the engine profile'):
        check_frame_size(_metadata(), 480, 640, 518, batch=2)
    with pytest.raises(ModelLoadError, match='set input_size to 518 or rebuild with '
                       '--input-size 364'):
        check_frame_size(_metadata(), 480, 640, 364)
