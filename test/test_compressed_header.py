"""Compressed frames: format and declared size read from the bytes, before decoding."""
import struct
import zlib

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage

from depth_trt_ros.ros.compressed_header import HeaderError, read_header
from depth_trt_ros.ros.conversions import BadImageError, compressed_to_pixels, MAX_PIXELS


def png_declaring(width: int, height: int) -> bytes:
    """Return a PNG signature and IHDR that claim ``width`` x ``height``, and no pixel data."""
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    chunk = b'IHDR' + ihdr
    return (b'\x89PNG\r\n\x1a\n' + struct.pack('>I', len(ihdr)) + chunk
            + struct.pack('>I', zlib.crc32(chunk)))


def jpeg_declaring(width: int, height: int) -> bytes:
    """Return SOI, an APP0 segment, then a baseline SOF0 that claims ``width`` x ``height``."""
    app0 = b'\xff\xe0' + struct.pack('>H', 16) + b'JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00'
    sof = b'\xff\xc0' + struct.pack('>HBHHB', 11, 8, height, width, 1) + b'\x01\x11\x00'
    return b'\xff\xd8' + app0 + sof


@pytest.mark.parametrize('suffix,fmt', [('.png', 'png'), ('.jpg', 'jpeg')])
def test_real_files_report_their_format_and_size(suffix, fmt):
    ok, encoded = cv2.imencode(suffix, np.zeros((37, 53, 3), np.uint8))
    assert read_header(memoryview(encoded.tobytes())) == (fmt, 53, 37)


@pytest.mark.parametrize('declare', [png_declaring, jpeg_declaring])
def test_gigapixel_declarations_are_refused_before_decoding(declare):
    data = declare(60000, 60000)
    assert len(data) < 100
    with pytest.raises(BadImageError, match=str(MAX_PIXELS)) as caught:
        compressed_to_pixels(CompressedImage(format='jpeg', data=data))
    assert caught.value.category == 'size'


@pytest.mark.parametrize('declare', [png_declaring, jpeg_declaring])
def test_zero_sized_declarations_are_refused(declare):
    with pytest.raises(BadImageError) as caught:
        compressed_to_pixels(CompressedImage(format='png', data=declare(0, 10)))
    assert caught.value.category == 'empty'


@pytest.mark.parametrize('data', [b'\xff\xd8', b'\xff\xd8\xff', b'\xff\xd8\x00\x00\x00\x00',
                                  b'\xff\xd8\xff\xe0\x00\x00', b'\xff\xd8\xff\xd9',
                                  b'\x89PNG\r\n\x1a\n', b'\x89PNG\r\n\x1a\n\0\0\0\rIHDX'])
def test_cut_or_broken_headers_say_so(data):
    with pytest.raises(HeaderError) as caught:
        read_header(memoryview(data))
    assert caught.value.category == 'decode'


def test_random_bytes_after_a_jpeg_start_never_escape_as_another_error():
    rng = np.random.default_rng(3)
    for length in range(0, 300):
        data = b'\xff\xd8' + rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        try:
            compressed_to_pixels(CompressedImage(format='jpeg', data=data))
        except BadImageError:
            pass
