"""What the TensorRT backend decides before it needs a GPU."""
import pytest
import torch

from depth_trt_ros.inference.backends import create_backend
from depth_trt_ros.inference.backends.tensorrt_backend import TensorRTBackend


def test_cpu_is_refused_with_the_alternatives():
    with pytest.raises(ValueError, match="runs only on CUDA.*onnxruntime or torch"):
        TensorRTBackend('model.engine', device='cpu')


def test_auto_picks_tensorrt_for_engine_files():
    with pytest.raises(ValueError, match='runs only on CUDA'):
        create_backend('auto', 'model.plan', device='cpu')


@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')
def test_cuda_request_without_cuda_is_refused():
    with pytest.raises(ValueError, match='CUDA is not available'):
        TensorRTBackend('model.engine', device='cuda', precision='fp32')
