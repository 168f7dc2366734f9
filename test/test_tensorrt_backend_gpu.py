"""
TensorRTBackend's CUDA plumbing against a stand-in TensorRT runtime (needs a GPU).

The stand-in implements the few TensorRT 10 calls the backend makes and
"runs" a depth engine as ``depth = pixels.sum(1)`` (a YOLO engine as a
constant head) on the bound addresses and the given stream. This checks what
is the backend's own: buffer binding and reuse, shape binding, stream
ordering without host syncs, CUDA-graph capture, the start-up refusals, and
engines without a sidecar (a user's fixed 384x384, a trtexec 518x518, an
ultralytics YOLO engine), on a real GPU. It does not check TensorRT itself.
"""
import json
from types import SimpleNamespace

import pytest
import torch

from depth_trt_ros.inference import tensorrt_runtime
from depth_trt_ros.inference.backends.base import ModelLoadError
from depth_trt_ros.inference.backends.tensorrt_backend import TensorRTBackend
from depth_trt_ros.inference.engine_meta import EngineMetadata, write_sidecar
from depth_trt_ros.inference.engine_profile import profile_for_cameras
from depth_trt_ros.inference.estimator import DepthEstimator
from depth_trt_ros.inference.postprocess import resize_depth
from depth_trt_ros.inference.preprocess import Preprocessor
from tensorrt_stand_in import INPUT, OUTPUT, StandInEngine, TensorIOMode

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
    """Binds shapes and addresses; an enqueue runs the engine's function on the stream."""

    def __init__(self, engine: '_Engine'):
        self.engine = engine
        self.shapes = {}
        self.addresses = {}
        self.enqueues = 0

    def set_input_shape(self, name, shape):
        self.shapes[name] = tuple(shape)
        self.shapes[self.engine.output_name] = self.engine.output_shape_for(tuple(shape))
        return True

    def get_tensor_shape(self, name):
        return self.shapes[name]

    def set_tensor_address(self, name, address):
        self.addresses[name] = address

    def execute_async_v3(self, stream_handle):
        engine = self.engine
        inputs = _view(self.addresses[engine.input_name], self.shapes[engine.input_name],
                       torch.float32)
        output = _view(self.addresses[engine.output_name], self.shapes[engine.output_name],
                       torch.float32)
        with torch.cuda.stream(torch.cuda.ExternalStream(stream_handle)):
            engine.run(inputs, output)
        self.enqueues += 1
        return True


class _Engine(StandInEngine):
    """A one-input, one-output fp32 engine whose 'network' is ``run(input, out=output)``."""

    def __init__(self, input_name, output_name, input_shape, output_shape, output_shape_for,
                 run, profile=None):
        super().__init__({input_name: (INPUT, 'FLOAT', input_shape),
                          output_name: (OUTPUT, 'FLOAT', output_shape)}, profile)
        self.input_name, self.output_name = input_name, output_name
        self.output_shape_for, self.run = output_shape_for, run
        self.context = _Context(self)

    def create_execution_context(self):
        return self.context


def _depth_engine(input_name='pixel_values', output_name='predicted_depth',
                  input_shape=(-1, 3, -1, -1), channel_axis=False):
    """``depth = pixels.sum(1)`` ([B, 1, H, W] with ``channel_axis``); profile of two cameras."""
    profile = profile_for_cameras([(640, 480), (1280, 720)], 518, max_batch=2)

    def output_shape_for(shape):
        return (shape[0], 1, *shape[2:]) if channel_axis else (shape[0], *shape[2:])

    return _Engine(input_name, output_name, input_shape, output_shape_for(input_shape),
                   output_shape_for,
                   lambda pixels, depth: torch.sum(pixels, 1, keepdim=channel_axis, out=depth),
                   [profile.min_shape, profile.opt_shape, profile.max_shape])


# The plans the stand-in runtime deserializes, and the engine each one becomes.
ENGINES = {PLAN: _depth_engine}


class _StandInTensorRT:
    """The module surface the backend touches."""

    TensorIOMode = TensorIOMode

    class Logger:
        WARNING = 2

        def __init__(self, level):
            self.level = level

    class Runtime:
        def __init__(self, logger):
            self.logger = logger

        def deserialize_cuda_engine(self, plan):
            return ENGINES[plan]() if plan in ENGINES else None


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
    assert backend.model_metadata['depth_estimation_type'] == 'metric'
    assert float(backend.model_metadata['max_depth']) == 20.0
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


SEED_PLAN = b'ftrt seed user plan'
PORT_PLAN = b'ftrt trtexec plan'
YOLO_PLAN = b'ftrt yolo plan'


@pytest.fixture
def foreign_engines(stand_in, monkeypatch, tmp_path):
    """Engines without sidecar: the seed user's 384x384, a trtexec 518x518, a YOLO export."""
    from depth_trt_ros.tools.yolo_layout import head_output

    head = head_output([(320, 320, 100, 50), (500, 100, 40, 40)], [(0.9, 0.1), (0.2, 0.7)],
                       anchors=16).cuda()
    monkeypatch.setitem(ENGINES, SEED_PLAN, lambda: _depth_engine(input_shape=(1, 3, 384, 384)))
    monkeypatch.setitem(ENGINES, PORT_PLAN, lambda: _depth_engine(
        'input', 'depth', input_shape=(1, 3, 518, 518), channel_axis=True))
    monkeypatch.setitem(ENGINES, YOLO_PLAN, lambda: _Engine(
        'images', 'output0', (1, 3, 640, 640), tuple(head.shape), lambda shape: tuple(head.shape),
        lambda images, output: output.copy_(head + 0 * images.mean())))
    paths = {}
    for name, plan in (('seed', SEED_PLAN), ('port', PORT_PLAN)):
        paths[name] = tmp_path / f'{name}.engine'
        paths[name].write_bytes(plan)
    metadata = json.dumps({'names': {'0': 'person', '1': 'car'}, 'imgsz': [640, 640],
                           'stride': 32}).encode()
    paths['yolo'] = tmp_path / 'yolo.engine'
    paths['yolo'].write_bytes(len(metadata).to_bytes(4, 'little') + metadata + YOLO_PLAN)
    return paths


def _reference_depth(frame, size):
    """Compute the stand-in's depth: channel sum of the frame stretched to ``size``, resized."""
    pixels = Preprocessor(518, torch.device('cuda'), fixed_size=size)(
        torch.from_numpy(frame).cuda())
    return resize_depth(pixels.sum(1), *frame.shape[:2])[0].cpu().numpy()


def test_engines_without_sidecar_load_with_a_warning_at_their_size(foreign_engines, caplog):
    frame = torch.randint(0, 255, (480, 640, 3), dtype=torch.uint8).numpy()
    for name, size in (('seed', (384, 384)), ('port', (518, 518))):
        with caplog.at_level('WARNING'):
            backend = TensorRTBackend(str(foreign_engines[name]), 'cuda', 'auto',
                                      cuda_graph=True)
        assert 'TensorRT version, GPU, build precision' in caplog.text
        assert f'height {size[0]}-{size[0]}' in caplog.text
        assert backend.fixed_input_size == size
        assert 'depth_estimation_type' not in backend.model_metadata
        assert backend.info().detail['unchecked'] == 'TensorRT version, GPU, build precision'
        estimator = DepthEstimator(backend, 518)
        result = estimator.estimate(frame)
        assert result.depth.shape == (480, 640)
        torch.testing.assert_close(result.depth, _reference_depth(frame, size),
                                   rtol=1e-4, atol=1e-3)
        with pytest.raises(ModelLoadError, match='outside the profile.*batch 1-1'):
            estimator.estimate_batch([frame, frame])
        estimator.close()
        caplog.clear()


def test_ultralytics_engine_detects_as_the_onnx_export(foreign_engines, tmp_path):
    from depth_trt_ros.inference.detection.yolo import load_yolo_backend, YoloDetector
    from depth_trt_ros.tools.yolo_layout import constant_boxes_model

    engine = YoloDetector(load_yolo_backend('auto', str(foreign_engines['yolo']), 'cuda',
                                            'fp16'))
    onnx = YoloDetector(load_yolo_backend('auto', str(constant_boxes_model(
        tmp_path / 'constant.onnx', [(320, 320, 100, 50), (500, 100, 40, 40)],
        [(0.9, 0.1), (0.2, 0.7)], ['person', 'car'])), 'cpu', 'fp32'))
    frame = torch.zeros(480, 640, 3, dtype=torch.uint8).numpy()
    for _ in range(3):  # the CUDA graph is captured on the first call and replayed after
        on_gpu, on_cpu = engine.detect(frame), onnx.detect(frame)
        torch.testing.assert_close(on_gpu.boxes, on_cpu.boxes)
        assert [on_gpu.label(i) for i in range(len(on_gpu))] == ['person', 'car']
    assert engine.backend.context.enqueues == 3, 'two warm-up runs and one capture'
    assert engine.backend.info().detail['engine'] == 'ultralytics export'
