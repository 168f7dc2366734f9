"""Image conversion follows cv_bridge: encodings, padding, endianness, bad frames."""
import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image

from depth_trt_ros.ros.conversions import (array_to_fields, BadImageError, compressed_to_rgb,
                                           fill_image, image_to_rgb, message_to_pixels)

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8)


def message(payload: np.ndarray, encoding: str, step=None, bigendian=False, pad=0):
    """Build an Image whose rows carry ``pad`` extra bytes, as some drivers send."""
    rows = payload.reshape(payload.shape[0], -1).view(np.uint8)
    if pad:
        rows = np.hstack([rows, np.full((rows.shape[0], pad), 7, np.uint8)])
    msg = Image(height=payload.shape[0], width=payload.shape[1], encoding=encoding,
                is_bigendian=int(bigendian))
    msg.step = step if step is not None else rows.shape[1]
    msg.data = rows.tobytes()
    return msg


@pytest.mark.parametrize('encoding,payload', [
    ('rgb8', RGB), ('bgr8', RGB[..., ::-1]), ('8UC3', RGB[..., ::-1]),
    ('rgba8', np.dstack([RGB, np.full(RGB.shape[:2], 255, np.uint8)])),
    ('bgra8', np.dstack([RGB[..., ::-1], np.zeros(RGB.shape[:2], np.uint8)])),
])
@pytest.mark.parametrize('pad', [0, 5])
def test_color_encodings_reach_rgb(encoding, payload, pad):
    out = image_to_rgb(message(np.ascontiguousarray(payload), encoding, pad=pad))
    np.testing.assert_array_equal(out, RGB)


def test_rgb8_is_a_view_of_the_message_buffer():
    msg = message(RGB, 'rgb8')
    out = image_to_rgb(msg)
    assert not out.flags.owndata


@pytest.mark.parametrize('encoding', ['mono8', '8UC1'])
def test_mono8_is_replicated(encoding):
    gray = RGB[..., 0].copy()
    out = image_to_rgb(message(gray, encoding))
    assert out.shape == (6, 8, 3)
    np.testing.assert_array_equal(out[..., 1], gray)


@pytest.mark.parametrize('bigendian', [False, True])
def test_mono16_scales_like_cv_bridge(bigendian):
    values = RNG.integers(0, 65536, (6, 8), dtype=np.uint16)
    payload = values.astype('>u2' if bigendian else '<u2')
    out = image_to_rgb(message(payload, 'mono16', bigendian=bigendian))
    np.testing.assert_array_equal(out[..., 0], (values >> 8).astype(np.uint8))


@pytest.mark.parametrize('encoding', ['yuv422', 'uyvy', 'yuyv', 'yuv422_yuy2'])
def test_yuv422_matches_opencv(encoding):
    packed = RNG.integers(16, 235, (6, 8, 2), dtype=np.uint8)
    expected = cv2.cvtColor(packed, cv2.COLOR_YUV2RGB_YUYV if encoding in ('yuyv', 'yuv422_yuy2')
                            else cv2.COLOR_YUV2RGB_UYVY)
    np.testing.assert_array_equal(image_to_rgb(message(packed, encoding)), expected)


@pytest.mark.parametrize('fmt', ['.jpg', '.png'])
def test_compressed_images_decode_to_rgb(fmt):
    ok, encoded = cv2.imencode(fmt, RGB[..., ::-1])
    msg = CompressedImage(format=fmt[1:], data=encoded.tobytes())
    out = compressed_to_rgb(msg)
    assert out.shape == RGB.shape
    if fmt == '.png':
        np.testing.assert_array_equal(out, RGB)


@pytest.mark.parametrize('mutate,category', [
    (lambda m: setattr(m, 'encoding', 'bayer_rggb8'), 'encoding'),
    (lambda m: setattr(m, 'encoding', '32FC1'), 'encoding'),
    (lambda m: setattr(m, 'step', 5), 'size'),
    (lambda m: setattr(m, 'data', m.data[:-10]), 'truncated'),
    (lambda m: (setattr(m, 'height', 0), setattr(m, 'width', 0)), 'empty'),
    (lambda m: setattr(m, 'height', 100000), 'truncated'),
    (lambda m: (setattr(m, 'height', 70000), setattr(m, 'width', 70000)), 'size'),
])
def test_bad_frames_raise_a_categorised_error(mutate, category):
    msg = message(RGB, 'rgb8')
    mutate(msg)
    with pytest.raises(BadImageError) as caught:
        image_to_rgb(msg)
    assert caught.value.category == category


def test_odd_width_yuv_is_refused():
    with pytest.raises(BadImageError) as caught:
        image_to_rgb(message(np.zeros((2, 3, 2), np.uint8), 'uyvy'))
    assert caught.value.category == 'size'


def test_compressed_data_that_is_no_jpeg_or_png_is_refused_by_format():
    with pytest.raises(BadImageError) as caught:
        compressed_to_rgb(CompressedImage(format='jpeg', data=b'not a jpeg'))
    assert caught.value.category == 'format'


def test_compressed_formats_the_docs_do_not_promise_are_refused():
    ok, bmp = cv2.imencode('.bmp', RGB[..., ::-1])
    with pytest.raises(BadImageError, match='neither JPEG nor PNG') as caught:
        compressed_to_rgb(CompressedImage(format='bmp', data=bmp.tobytes()))
    assert caught.value.category == 'format'


@pytest.mark.parametrize('suffix', ['.png', '.jpg'])
def test_truncated_compressed_image_is_refused_as_undecodable(suffix):
    ok, encoded = cv2.imencode(suffix, np.full((64, 64, 3), 7, np.uint8))
    with pytest.raises(BadImageError) as caught:
        compressed_to_rgb(CompressedImage(format=suffix[1:], data=encoded.tobytes()[:40]))
    assert caught.value.category == 'decode'


def test_depth_round_trip_through_a_message():
    depth = RNG.random((6, 8), dtype=np.float32)
    msg = fill_image(Image(), depth, '32FC1')
    assert (msg.height, msg.width, msg.step, msg.encoding) == (6, 8, 32, '32FC1')
    back = np.frombuffer(msg.data, np.float32).reshape(6, 8)
    np.testing.assert_array_equal(back, depth)


def test_array_to_fields_refuses_wrong_dtype():
    with pytest.raises(ValueError, match='32FC1'):
        array_to_fields(np.zeros((2, 2), np.float64), '32FC1')


@pytest.mark.parametrize('encoding,bgr', [('rgb8', False), ('bgr8', True), ('bgra8', True),
                                          ('rgba8', False), ('mono8', False)])
def test_pixels_keep_the_channel_order_for_the_gpu(encoding, bgr):
    channels = {'mono8': 1, 'rgba8': 4, 'bgra8': 4}.get(encoding, 3)
    payload = RNG.integers(0, 256, (6, 8, channels), dtype=np.uint8)
    pixels = message_to_pixels(message(payload[..., 0] if channels == 1 else payload, encoding))
    assert pixels.bgr == bgr
    np.testing.assert_array_equal(pixels.rgb(), image_to_rgb(message(
        payload[..., 0] if channels == 1 else payload, encoding)))


def test_compressed_pixels_are_bgr_as_decoded():
    ok, png = cv2.imencode('.png', RGB[..., ::-1])
    pixels = message_to_pixels(CompressedImage(format='png', data=png.tobytes()))
    assert pixels.bgr
    np.testing.assert_array_equal(pixels.rgb(), RGB)
