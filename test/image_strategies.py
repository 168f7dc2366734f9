"""Hypothesis strategies for malformed image messages, shared by the fuzz tests."""
import cv2
from hypothesis import strategies as st
import numpy as np
from sensor_msgs.msg import CompressedImage, Image

from depth_trt_ros.ros.conversions import SUPPORTED_ENCODINGS

MAX_DATA = 64 * 64 * 8
UINT32 = 2**32 - 1
ENCODINGS = st.sampled_from(SUPPORTED_ENCODINGS + ('32FC1', '16UC1', 'RGB8', '', 'bayer_rggb8',
                                                   '8UC2', '64FC1'))
DIMENSIONS = st.one_of(st.integers(0, 64), st.integers(0, UINT32), st.sampled_from(
    [1, 3, 63, 65535, 2**16 + 1, 2**31, UINT32]))


@st.composite
def image_messages(draw):
    """Images whose fields are each either consistent or off by a little or a lot."""
    height, width = draw(DIMENSIONS), draw(DIMENSIONS)
    encoding = draw(ENCODINGS)
    bytes_per_pixel = draw(st.sampled_from([1, 2, 3, 4]))
    step_error = draw(st.sampled_from([0, 0, -1, 1, 2, -3, 8, UINT32]))
    step = min(max(width * bytes_per_pixel + step_error, 0), UINT32)
    needed = min(step * height, MAX_DATA)
    size = draw(st.sampled_from([needed, needed, needed // 2, max(needed - 1, 0), 0]))
    fill = draw(st.integers(0, 255))
    return Image(height=height, width=width, encoding=encoding,
                 is_bigendian=draw(st.integers(0, 1)), step=step, data=bytes([fill]) * size)


def _real_encoded(extension: str) -> bytes:
    photo = np.random.default_rng(0).integers(0, 255, (24, 40, 3), np.uint8)
    return cv2.imencode(extension, photo)[1].tobytes()


ENCODED = [_real_encoded('.jpg'), _real_encoded('.png')]


@st.composite
def compressed_messages(draw):
    """Real JPEG/PNG cut short or with bytes flipped, and plain noise."""
    original = draw(st.sampled_from(ENCODED))
    cut = original[:draw(st.integers(0, len(original)))]
    flipped = bytearray(original)
    for index in draw(st.lists(st.integers(0, len(original) - 1), max_size=8)):
        flipped[index] ^= 0xFF
    data = draw(st.sampled_from([cut, bytes(flipped)]) | st.binary(max_size=512))
    return CompressedImage(format=draw(st.sampled_from(['jpeg', 'png', 'rgb8; jpeg', ''])),
                           data=data)
