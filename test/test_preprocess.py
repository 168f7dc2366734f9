"""Preprocessing reproduces transformers' DPTImageProcessor for Depth-Anything-V2."""
import numpy as np
import pytest
from skimage import data
import torch

from depth_trt_ros.inference.preprocess import network_input_size, Preprocessor

# Bicubic resampling differs slightly between PIL and torch (antialias kernels),
# so single pixels may be a few grey levels apart; normalised, that is < 0.15.
MAX_ABS_ERROR = 0.15
MEAN_ABS_ERROR = 0.01


def reference_processor():
    from transformers import DPTImageProcessorPil
    # The settings of depth-anything/Depth-Anything-V2-Small-hf's preprocessor_config.json.
    return DPTImageProcessorPil(
        do_resize=True, size={'height': 518, 'width': 518}, keep_aspect_ratio=True,
        ensure_multiple_of=14, resample=3, do_rescale=True, rescale_factor=1 / 255,
        do_normalize=True, image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225],
        do_pad=False)


@pytest.mark.parametrize('height,width,expected', [
    (480, 640, (518, 686)), (720, 1280, (518, 924)), (1362, 2048, (518, 784)),
    (518, 518, (518, 518)),
    # Upscaling moves the side closest to the target: a small frame keeps its long side.
    (100, 50, (518, 252)), (64, 80, (420, 518)),
])
def test_network_input_size_scales_as_little_as_possible(height, width, expected):
    assert network_input_size(height, width) == expected


def test_network_input_size_refuses_empty_images():
    with pytest.raises(ValueError):
        network_input_size(0, 10)


@pytest.mark.parametrize('image', ['astronaut', 'chelsea', 'coffee'])
def test_matches_transformers_processor(image):
    frame = getattr(data, image)()
    expected = reference_processor()(images=frame, return_tensors='np')['pixel_values'][0]
    ours = Preprocessor()(torch.from_numpy(frame))[0].numpy()
    assert ours.shape == expected.shape
    error = np.abs(ours - expected)
    assert error.max() < MAX_ABS_ERROR, error.max()
    assert error.mean() < MEAN_ABS_ERROR, error.mean()


def test_output_dtype_follows_the_backend():
    frame = torch.zeros((2, 64, 80, 3), dtype=torch.uint8)
    out = Preprocessor(input_size=140, dtype=torch.float16)(frame)
    assert out.dtype == torch.float16 and out.shape == (2, 3, 112, 140)
