"""
Property-based fuzzing of image conversion: a frame is an RGB array or a BadImageError.

More than 10,000 generated messages (wrong steps, sizes, encodings, truncated
data, huge dimensions, odd yuv widths, garbage JPEG/PNG) must never raise
anything else, so one bad camera frame can never take a node down.
"""
from hypothesis import given, HealthCheck, settings
import numpy as np
from sensor_msgs.msg import Image

from depth_trt_ros.ros.conversions import BadImageError, compressed_to_rgb, \
    image_to_depth, image_to_rgb
from image_strategies import compressed_messages, image_messages

FUZZ = settings(max_examples=10_000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _check_rgb(convert, msg):
    try:
        frame = convert(msg)
    except BadImageError as error:
        assert error.category in BadImageError.CATEGORIES
        return
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    if isinstance(msg, Image):
        assert frame.shape[:2] == (msg.height, msg.width)


@FUZZ
@given(image_messages())
def test_image_to_rgb_gives_an_array_or_a_categorised_error(msg):
    _check_rgb(image_to_rgb, msg)


@settings(FUZZ, max_examples=1_000)
@given(image_messages())
def test_depth_image_gives_metres_or_a_categorised_error(msg):
    try:
        depth = image_to_depth(msg)
    except BadImageError as error:
        assert error.category in BadImageError.CATEGORIES
        return
    assert depth.dtype == np.float32 and depth.shape == (msg.height, msg.width)


@settings(FUZZ, max_examples=1_000)
@given(compressed_messages())
def test_compressed_to_rgb_gives_an_array_or_a_categorised_error(msg):
    _check_rgb(compressed_to_rgb, msg)
