"""Backends agree with each other and refuse what they cannot run."""
import numpy as np
import pytest
from skimage import data
import torch

from depth_trt_ros.inference.backends import build_backend, choose_backend, create_backend, \
    ModelLoadError
from depth_trt_ros.inference.backends.base import CudaGraphRunner, TensorBuffers
from depth_trt_ros.inference.backends.torch_backend import TorchBackend
from depth_trt_ros.inference.estimator import DepthEstimator, Outputs
from depth_trt_ros.inference.model import load_depth_model


def relative_error(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


@pytest.mark.parametrize('model,expected', [
    ('x/model.engine', 'tensorrt'), ('m.plan', 'tensorrt'), ('model.onnx', 'onnxruntime'),
    ('depth-anything/Depth-Anything-V2-Small-hf', 'torch'), ('random:tiny', 'torch'),
])
def test_auto_picks_the_backend_from_the_model(model, expected):
    assert choose_backend('auto', model) == expected


def test_onnxruntime_and_torch_agree_on_real_frames(exported_tiny_onnx):
    torch_estimator = DepthEstimator(create_backend('torch', 'random:tiny'))
    onnx_estimator = DepthEstimator(create_backend('onnxruntime', str(exported_tiny_onnx)))
    for frame in (data.astronaut(), data.coffee()):
        reference = torch_estimator.estimate(frame).depth
        other = onnx_estimator.estimate(frame).depth
        assert other.shape == frame.shape[:2] and other.dtype == np.float32
        assert relative_error(other, reference) < 1e-4


def test_batches_match_single_frames():
    estimator = DepthEstimator(create_backend('torch', 'random:tiny'))
    frames = [data.astronaut(), data.astronaut()[::-1].copy()]
    batch = estimator.estimate_batch(frames)
    for frame, result in zip(frames, batch):
        assert relative_error(result.depth, estimator.estimate(frame).depth) < 1e-4


def test_colorized_view_is_bgr8_at_input_size():
    estimator = DepthEstimator(create_backend('torch', 'random:tiny'), colormap='turbo')
    result = estimator.estimate(data.chelsea(), colorized=True)
    assert result.colorized.shape == (*data.chelsea().shape[:2], 3)
    assert result.colorized.dtype == np.uint8
    assert set(result.timings_ms) == {'preprocess', 'infer', 'postprocess'}


@pytest.mark.parametrize('kwargs,message', [
    (dict(kind='torch', model='random:tiny', device='cpu', precision='fp16'), 'fp16 needs'),
    (dict(kind='torch', model='random:tiny', device='tpu'), 'not a torch device'),
    (dict(kind='torch', model='random:tiny', device='cuda'), 'CUDA is not available'),
    (dict(kind='torch', model='random:huge'), 'unknown random model'),
    (dict(kind='torch', model='/nonexistent/model-dir'), 'cannot load'),
    (dict(kind='onnxruntime', model='/nonexistent.onnx'), 'does not exist'),
    (dict(kind='onnxruntime', model='random:tiny', providers=['tpu']), 'does not exist'),
    (dict(kind='magic', model='random:tiny'), 'not one of'),
])
def test_bad_settings_fail_with_a_message_naming_the_fix(kwargs, message):
    if 'CUDA' in message and torch.cuda.is_available():
        pytest.skip('this machine has CUDA')
    with pytest.raises((ValueError, ModelLoadError), match=message):
        create_backend(**kwargs)


def test_corrupt_onnx_file_is_refused(tmp_path):
    broken = tmp_path / 'broken.onnx'
    broken.write_bytes(b'\x08\x07garbage')
    with pytest.raises(ModelLoadError, match='cannot load ONNX'):
        create_backend('onnxruntime', str(broken))


def test_unknown_provider_is_refused(exported_tiny_onnx):
    with pytest.raises(ValueError, match='unknown ONNX Runtime provider'):
        create_backend('onnxruntime', str(exported_tiny_onnx), providers=['tpu', 'cpu'])


def test_buffers_are_reused_until_the_shape_changes():
    buffers = TensorBuffers(torch.device('cpu'))
    first = buffers.get('x', (1, 3), torch.float32)
    assert buffers.get('x', (1, 3), torch.float32) is first
    assert buffers.get('x', (2, 3), torch.float32) is not first
    assert buffers.reallocations == 2


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')


@needs_cuda
def test_cuda_graph_replays_the_function():
    runner = CudaGraphRunner(lambda x: x * 2 + 1, torch.device('cuda'))
    for _ in range(3):
        x = torch.randn(4, device='cuda')
        torch.testing.assert_close(runner(x), x * 2 + 1)


@needs_cuda
def test_cuda_graph_options_are_part_of_the_key_and_old_graphs_are_dropped():
    runner = CudaGraphRunner(lambda x, scale: {'y': x * scale}, torch.device('cuda'),
                             max_graphs=2)
    x = torch.randn(4, device='cuda')
    for scale in (1.0, 2.0, 3.0):
        torch.testing.assert_close(runner(x, scale=scale)['y'], x * scale)
    assert len(runner) == 2
    torch.testing.assert_close(runner(x, scale=1.0)['y'], x)


@needs_cuda
def test_graphed_stages_give_the_eager_results():
    backend = create_backend('torch', 'random:tiny', 'cuda', 'fp32', cuda_graph=False)
    graphed, eager = (DepthEstimator(backend, 140, cuda_graph=flag) for flag in (True, False))
    frame = data.coffee()
    for bgr in (False, True):
        for _ in range(2):
            got = graphed.estimate(frame, colorized=True, bgr=bgr)
        want = eager.estimate(frame, colorized=True, bgr=bgr)
        np.testing.assert_allclose(got.depth, want.depth, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(got.colorized, want.colorized)
    graphed.set_colormap('gray')
    eager.set_colormap('gray')
    np.testing.assert_array_equal(graphed.estimate(frame, colorized=True).colorized,
                                  eager.estimate(frame, colorized=True).colorized)
    assert graphed.graphed_stages == 4 and eager.graphed_stages == 0


def test_bgr_frames_are_swapped_on_the_device():
    estimator = DepthEstimator(create_backend('torch', 'random:tiny'))
    frame = data.coffee()
    as_rgb = estimator.estimate(frame).depth
    as_bgr = estimator.estimate(np.ascontiguousarray(frame[..., ::-1]), bgr=True).depth
    np.testing.assert_array_equal(as_rgb, as_bgr)


@pytest.mark.parametrize('device', ['cpu', pytest.param('cuda', marks=needs_cuda)])
def test_batches_in_flight_keep_their_own_results(device):
    """Launch three frames before collecting any: each result is its own frame's."""
    estimator = DepthEstimator(create_backend('torch', 'random:tiny', device, 'fp32'), 140)
    frames = [data.astronaut(), data.astronaut()[::-1].copy(), data.astronaut()[:, ::-1].copy()]
    expected = [estimator.estimate(frame, colorized=True) for frame in frames]
    pending = [estimator.launch_batch([frame], Outputs(colorized=True)) for frame in frames]
    for launched, want in zip(pending, expected):
        got, = launched.collect()
        np.testing.assert_allclose(got.depth, want.depth, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(got.colorized, want.colorized)
    with pytest.raises(RuntimeError, match='collected already'):
        pending[0].collect()
    assert estimator.asynchronous == (device == 'cuda')


def test_an_engine_that_cannot_take_the_nodes_batches_is_refused_with_the_fix():
    from types import SimpleNamespace

    from depth_trt_ros.inference.service import _check_batch
    engine = SimpleNamespace(max_batch=1, close=lambda: None,
                             rebuild_advice=lambda n: f'export --max-batch {n}')
    two_cameras = SimpleNamespace(model_path='d.engine', max_batch=4,
                                  image_topics=['left/image', 'right/image'])
    with pytest.raises(ValueError, match=r'set max_batch to 1, or export --max-batch 2'):
        _check_batch(engine, two_cameras)
    _check_batch(engine, SimpleNamespace(model_path='d.engine', max_batch=4,
                                         image_topics=['image']))
    _check_batch(SimpleNamespace(max_batch=None), two_cameras)


@pytest.mark.parametrize('kind, model, device, message', [
    ('torch', 'random:tiny', 'cpu', 'torch_compile needs a CUDA device'),
    ('onnxruntime', 'model.onnx', 'cpu', "applies to the torch backend's Hugging Face"),
    ('torch', 'yolo.torchscript', 'cpu', "applies to the torch backend's Hugging Face"),
])
def test_torch_compile_is_refused_where_it_cannot_work(kind, model, device, message):
    with pytest.raises(ValueError, match=message + '.*set torch_compile to false'):
        build_backend(kind, model, device, 'fp32', torch_compile=True)


def test_compiled_model_reads_the_cached_position_embeddings():
    # The compiled model takes each size's interpolated embeddings from the cache that
    # an eager run filled, instead of interpolating per frame (here traced by dynamo's
    # eager backend: the same tracing as Inductor's, without its CPU compiler).
    model = load_depth_model('random:tiny')
    embeddings = model.backbone.embeddings
    interpolate, calls = embeddings.interpolate_pos_encoding, []

    def counted(*args):
        calls.append(args[1:])
        return interpolate(*args)

    embeddings.interpolate_pos_encoding = counted
    backend = TorchBackend(model, 'cpu', 'fp32')
    pixels = torch.rand(1, 3, 140, 182, generator=torch.Generator().manual_seed(0))
    eager = backend.infer(pixels).clone()
    assert calls == [(140, 182)]
    with torch.inference_mode():
        compiled = torch.compile(backend._eager, backend='eager', dynamic=False)(pixels)
    assert calls == [(140, 182)], 'interpolated again while compiling'
    torch.testing.assert_close(compiled, eager)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_compiled_model_on_cuda_gives_the_graphed_results():
    pixels = torch.rand(2, 3, 140, 182, generator=torch.Generator().manual_seed(0)).cuda()
    graphed = build_backend('torch', 'random:tiny', 'cuda', 'fp32').infer(pixels).clone()
    backend = build_backend('torch', 'random:tiny', 'cuda', 'fp32', torch_compile=True)
    assert backend.info().detail['torch_compile'] == 'True'
    for _ in range(2):  # compiled and captured, then replayed
        torch.testing.assert_close(backend.infer(pixels), graphed, rtol=1e-3, atol=1e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_a_graph_keeps_the_position_embeddings_its_size_dropped_from_the_cache(monkeypatch):
    from depth_trt_ros.inference.backends import torch_backend
    monkeypatch.setattr(torch_backend, 'MAX_CACHED_SIZES', 1)
    generator = torch.Generator().manual_seed(0)
    first, second = (torch.rand(1, 3, 140, width, generator=generator).cuda()
                     for width in (182, 196))
    expected = build_backend('torch', 'random:tiny', 'cuda', 'fp32', cuda_graph=False) \
        .infer(first).clone()
    backend = build_backend('torch', 'random:tiny', 'cuda', 'fp32')
    backend.infer(first)
    backend.infer(second)  # the cache now holds the second size only
    torch.cuda.empty_cache()
    scribbled = [torch.full((1 << 20,), float('nan'), device='cuda') for _ in range(16)]
    torch.testing.assert_close(backend.infer(first), expected, rtol=1e-3, atol=1e-3)
    del scribbled
