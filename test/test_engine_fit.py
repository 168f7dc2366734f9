"""A model with a size profile (an engine) refuses what it cannot take before running it."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from depth_trt_ros.inference import service
from depth_trt_ros.inference.backends import ModelLoadError, UnsupportedFrameSize
from depth_trt_ros.inference.backends.base import Backend, BackendInfo
from depth_trt_ros.inference.estimator import DepthEstimator

BUILT_FOR = 140


class ProfiledBackend(Backend):
    """Takes frames up to 64 px wide, for the input size it was built for, as an engine."""

    name = 'profiled'

    def __init__(self):
        super().__init__(torch.device('cpu'), 'fp32')
        self.checks, self.calls, self.closed, self.batches = 0, 0, False, set()
        self.warmup_frame_size = (48, 64)

    def check_frame_size(self, height, width, input_size, batch=1):
        self.checks += 1
        if input_size != BUILT_FOR:
            raise ModelLoadError(f'input_size {input_size} differs from the engine\'s '
                                 f'{BUILT_FOR}')
        if width > 64:
            raise UnsupportedFrameSize(f'{width} px is outside the profile')

    def infer(self, pixel_values):
        self.calls += 1
        self.batches.add(pixel_values.shape[0])
        return pixel_values[:, 0]

    def info(self):
        return BackendInfo(self.name, 'stand-in', 'cpu', 'fp32')

    def close(self):
        self.closed = True


def test_a_size_is_checked_once_and_a_refused_size_never_runs():
    backend = ProfiledBackend()
    estimator = DepthEstimator(backend, BUILT_FOR, cuda_graph=False)
    frame = np.zeros((48, 64, 3), np.uint8)
    for _ in range(3):
        estimator.estimate(frame)
    assert (backend.checks, backend.calls) == (1, 3)
    with pytest.raises(UnsupportedFrameSize, match='80 px'):
        estimator.estimate(np.zeros((48, 80, 3), np.uint8))
    assert backend.calls == 3


@pytest.mark.parametrize('input_size, refused', [(BUILT_FOR, False), (182, True)])
def test_configure_refuses_an_input_size_the_engine_was_not_built_for(
        monkeypatch, input_size, refused):
    backend = ProfiledBackend()
    monkeypatch.setattr(service, 'build_backend', lambda *args: backend)
    config = node_config(input_size=input_size)
    if refused:
        with pytest.raises(ModelLoadError, match='input_size 182'):
            service.build_estimator(config, print)
        assert backend.closed and backend.calls == 0
    else:
        service.build_estimator(config, print)
        assert not backend.closed and backend.calls > 0


def node_config(**values):
    defaults = dict(backend='auto', model_path='stand-in.engine', device='cpu',
                    precision='fp32', cuda_graph=False, torch_compile=False, max_batch=1,
                    image_topics=['image'], input_size=BUILT_FOR, colormap='inferno')
    return SimpleNamespace(**dict(defaults, **values))


@pytest.mark.parametrize('cameras, max_batch, batches', [(1, 4, {1}), (3, 4, {1, 2, 3}),
                                                         (4, 2, {1, 2})])
def test_configure_warms_up_every_batch_the_node_may_form(monkeypatch, cameras, max_batch,
                                                          batches):
    # A compiled model meets a new batch size with ~20 s of compiling: at configure, not
    # while cameras wait.
    backend = ProfiledBackend()
    monkeypatch.setattr(service, 'build_backend', lambda *args: backend)
    service.build_estimator(node_config(max_batch=max_batch,
                                        image_topics=[f'cam{i}/image' for i in range(cameras)]),
                            print)
    assert backend.batches == batches
