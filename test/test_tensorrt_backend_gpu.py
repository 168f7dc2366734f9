"""
TensorRTBackend's CUDA plumbing against a stand-in TensorRT runtime (needs a GPU).

The stand-in implements the few TensorRT 10 calls the backend makes and
"runs" the engine as ``predicted_depth = pixel_values.sum(1)`` on the bound
addresses and the given stream. This checks what is the backend's own:
buffer binding and reuse, shape binding, stream ordering without host syncs,
CUDA-graph capture and the start-up refusals, on a real GPU. It does not
check TensorRT itself.
"""
from types import SimpleNamespace

import pytest
import torch

from depth_trt_ros.inference import tensorrt_runtime
from depth_trt_ros.inference.backends.base import ModelLoadError
from depth_trt_ros.inference.backends.tensorrt_backend import TensorRTBackend
from depth_trt_ros.inference.engine_meta import EngineMetadata, write_sidecar
from depth_trt_ros.inference.engine_profile import profile_for_cameras
from depth_trt_ros.inference.estimator import DepthEstimator

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')

PLAN = b'stand-in plan'
VERSION = '10.0.0-stand-in'
_TYPESTR = {torch.float32: '<f4', torch.float16: '<f2'}


def _view(address: int, shape, dtype) -> torch.Tensor:
    """Wrap device memory TensorRT would read or write in a tensor (no copy)."""
    interface = {'shape': tuple(shape), 'typestr': _TYPESTR[dtype], 'data': (address, False),
                 'version': 3, 'strides': None, 'stream': None}
    return torch.as_tensor(SimpleNamespace(__cuda_array_interface__=interface), device='cuda')


class _Context:
    def __init__(self, dtype):
        self.dtype = dtype
        self.shapes = {}
        self.addresses = {}
        self.enqueues = 0

    def set_input_shape(self, name, shape):
        self.shapes[name] = tuple(shape)
        self.shapes['predicted_depth'] = (shape[0], shape[2], shape[3])
        return True

    def get_tensor_shape(self, name):
        return self.shapes[name]

    def set_tensor_address(self, name, address):
        self.addresses[name] = address

    def execute_async_v3(self, stream_handle):
        pixels = _view(self.addresses['pixel_values'], self.shapes['pixel_values'], self.dtype)
        depth = _view(self.addresses['predicted_depth'], self.shapes['predicted_depth'],
                      self.dtype)
        with torch.cuda.stream(torch.cuda.ExternalStream(stream_handle)):
            torch.sum(pixels, 1, out=depth)
        self.enqueues += 1
        return True


class _Engine:
    num_io_tensors = 2

    def __init__(self):
        self.context = _Context(torch.float32)

    def get_tensor_name(self, index):
        return ('pixel_values', 'predicted_depth')[index]

    def get_tensor_dtype(self, name):
        return SimpleNamespace(name='FLOAT')

    def create_execution_context(self):
        return self.context


class _StandInTensorRT:
    """The module surface the backend touches."""

    class Logger:
        WARNING = 2

        def __init__(self, level):
            self.level = level

    class Runtime:
        def __init__(self, logger):
            self.logger = logger

        def deserialize_cuda_engine(self, plan):
            return _Engine() if plan == PLAN else None


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setattr(tensorrt_runtime, 'trt', _StandInTensorRT)
    monkeypatch.setattr(tensorrt_runtime, 'MODULE_NAME', 'tensorrt')
    monkeypatch.setattr(tensorrt_runtime, 'VERSION', VERSION)


def _engine_file(tmp_path, **changes):
    import dataclasses
    import hashlib

    major, minor = torch.cuda.get_device_capability()
    metadata = EngineMetadata(
        model='random:tiny', precision='fp32', input_name='pixel_values',
        output_name='predicted_depth',
        io_dtypes={'pixel_values': 'float32', 'predicted_depth': 'float32'},
        profile=profile_for_cameras([(640, 480), (1280, 720)], 518, max_batch=2),
        cameras=['640x480', '1280x720'],
        preprocessing={'input_size': 518, 'mean': [], 'std': [], 'multiple': 14},
        tensorrt_module='tensorrt', tensorrt_version=VERSION,
        gpu_name=torch.cuda.get_device_name(), compute_capability=f'{major}.{minor}',
        target_compute_capabilities=[f'{major}.{minor}'], gpu_note='stand-in',
        depth_estimation_type='metric', max_depth=20.0, onnx_sha256='0' * 64,
        engine_bytes=len(PLAN), engine_sha256=hashlib.sha256(PLAN).hexdigest(),
        build_date='2026-01-01T00:00:00+00:00', build_seconds=1.0, strongly_typed=True,
        workspace_gb=1.0, timing_cache=None)
    path = tmp_path / 'stand-in.engine'
    path.write_bytes(PLAN)
    write_sidecar(path, dataclasses.replace(metadata, **changes))
    return path


def test_infer_binds_reuses_buffers_and_rebinds_on_shape_change(stand_in, tmp_path):
    backend = TensorRTBackend(str(_engine_file(tmp_path)), 'cuda', 'fp32')
    assert backend.metric and backend.max_depth == 20.0
    for shape in ((1, 3, 518, 686), (1, 3, 518, 686), (2, 3, 518, 924), (1, 3, 518, 686)):
        pixels = torch.randn(shape, device='cuda')
        depth = backend.infer(pixels)
        torch.cuda.synchronize()
        torch.testing.assert_close(depth, pixels.sum(1))
    assert backend._buffers.reallocations == 3, 'reallocated only when the shape changed'
    with pytest.raises(ModelLoadError, match='outside the engine profile'):
        backend.infer(torch.randn(1, 3, 518, 518, device='cuda'))
    backend.close()


def test_cuda_graph_replays_new_data_and_recaptures_on_shape_change(stand_in, tmp_path):
    backend = TensorRTBackend(str(_engine_file(tmp_path)), 'cuda', 'fp32', cuda_graph=True)
    context = backend.context
    for shape in ((1, 3, 518, 686),) * 3 + ((1, 3, 518, 924),) * 2:
        pixels = torch.randn(shape, device='cuda')
        depth = backend.infer(pixels)
        torch.cuda.synchronize()
        torch.testing.assert_close(depth, pixels.sum(1))
    # Per shape: two warm-up enqueues and one captured; replays enqueue nothing.
    assert context.enqueues == 6
    backend.close()


def test_estimator_runs_end_to_end_on_the_gpu(stand_in, tmp_path):
    backend = TensorRTBackend(str(_engine_file(tmp_path)), 'cuda', 'fp32')
    backend.check_frame_size(480, 640, 518)
    estimator = DepthEstimator(backend, 518)
    frame = torch.randint(0, 255, (480, 640, 3), dtype=torch.uint8).numpy()
    result = estimator.estimate(frame, colorized=True)
    assert result.depth.shape == (480, 640) and result.metric
    assert result.colorized.shape == (480, 640, 3)
    estimator.close()


def test_start_up_refusals(stand_in, tmp_path):
    with pytest.raises(ModelLoadError, match='is fp32: set precision to fp32'):
        TensorRTBackend(str(_engine_file(tmp_path)), 'cuda', 'fp16')
    assert TensorRTBackend(str(_engine_file(tmp_path)), 'cuda', 'auto').precision == 'fp32'
    with pytest.raises(ModelLoadError, match='targets compute capabilities 1.0'):
        TensorRTBackend(str(_engine_file(tmp_path, target_compute_capabilities=['1.0'])),
                        'cuda', 'fp32')
    with pytest.raises(ModelLoadError, match='built with tensorrt 9.0'):
        TensorRTBackend(str(_engine_file(tmp_path, tensorrt_version='9.0')), 'cuda', 'fp32')
    with pytest.raises(ModelLoadError, match='outside the engine profile'):
        TensorRTBackend(str(_engine_file(tmp_path)), 'cuda', 'fp32').check_frame_size(
            1080, 1920, 518, batch=4)
