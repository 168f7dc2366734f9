"""
sensor_msgs images <-> numpy arrays, following cv_bridge's rules.

Works on any object with Image's fields (rclpy messages, rosbags messages),
returns numpy views of the message buffer wherever the layout allows, and
raises :class:`BadImageError` with a category for everything malformed, so
callers can count bad frames by kind and keep running.
"""
from typing import NamedTuple, Tuple

import cv2
import numpy as np

from depth_trt_ros.ros.compressed_header import HeaderError, read_header
from depth_trt_ros.ros.wire import quote, QUOTE_CHARS

try:  # Where ROS's cv_bridge is installed it covers the encodings we do not (Bayer, ...).
    from cv_bridge import CvBridge
    _BRIDGE = CvBridge()
except ImportError:
    _BRIDGE = None

# Frames above this are refused before anything is allocated for them.
MAX_PIXELS = 64_000_000

# encoding -> (numpy dtype, channels, how to reach RGB)
_ENCODINGS = {
    'rgb8': (np.uint8, 3, 'rgb'), '8UC3': (np.uint8, 3, 'bgr'),
    'bgr8': (np.uint8, 3, 'bgr'), 'rgba8': (np.uint8, 4, 'rgba'),
    'bgra8': (np.uint8, 4, 'bgra'), '8UC4': (np.uint8, 4, 'bgra'),
    'mono8': (np.uint8, 1, 'mono'), '8UC1': (np.uint8, 1, 'mono'),
    'mono16': (np.uint16, 1, 'mono16'), '16UC1': (np.uint16, 1, 'mono16'),
    'yuv422': (np.uint8, 2, 'uyvy'), 'uyvy': (np.uint8, 2, 'uyvy'),
    'yuyv': (np.uint8, 2, 'yuyv'), 'yuv422_yuy2': (np.uint8, 2, 'yuyv'),
}
SUPPORTED_ENCODINGS = tuple(_ENCODINGS)
# Depth images: 32FC1 as published (metres or relative), 16UC1 millimetres (REP 118).
_DEPTH_ENCODINGS = {'32FC1': (np.float32, 1, 'float'), '16UC1': (np.uint16, 1, 'millimetres'),
                    'mono16': (np.uint16, 1, 'millimetres')}
OUTPUT_ENCODINGS = {'32FC1': (np.float32, 1), '16UC1': (np.uint16, 1), 'bgr8': (np.uint8, 3),
                    'rgb8': (np.uint8, 3), 'mono8': (np.uint8, 1)}


class BadImageError(ValueError):
    """A frame that cannot be converted; ``category`` names the class of fault."""

    CATEGORIES = ('encoding', 'size', 'truncated', 'empty', 'decode', 'format')

    def __init__(self, category: str, message: str):
        super().__init__(message)
        self.category = category


def _check_size(width: int, height: int, what: str):
    """Refuse empty frames and frames above ``MAX_PIXELS`` before anything is allocated."""
    if height == 0 or width == 0:
        raise BadImageError('empty', f'{what} image has zero size ({width}x{height})')
    if height * width > MAX_PIXELS:
        raise BadImageError('size', f'{what} image {width}x{height} exceeds {MAX_PIXELS} '
                            'pixels')


def _pixels(msg, encodings=_ENCODINGS) -> Tuple[np.ndarray, str]:
    encoding = msg.encoding
    if encoding not in encodings:
        raise BadImageError('encoding', f'unsupported encoding {quote(encoding)}: use one of '
                            f"{', '.join(encodings)}")
    dtype, channels, layout = encodings[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    _check_size(width, height, encoding)
    if layout in ('uyvy', 'yuyv') and width % 2:
        raise BadImageError('size', f'{encoding} needs an even width, got {width}')
    itemsize = np.dtype(dtype).itemsize
    row_bytes = width * channels * itemsize
    if step < row_bytes or step % itemsize:
        raise BadImageError('size', f'step {step} does not fit {width} px of {encoding} '
                            f'({row_bytes} bytes per row)')
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size < step * height:
        raise BadImageError('truncated', f'data has {data.size} bytes, {encoding} '
                            f'{width}x{height} with step {step} needs {step * height}')
    rows = data[:step * height].reshape(height, step)[:, :row_bytes]
    pixels = rows.view(np.dtype(dtype).newbyteorder('>' if msg.is_bigendian else '<'))
    return pixels.reshape(height, width, channels), layout


class Pixels(NamedTuple):
    """uint8 ``[H, W, 3]`` colour pixels, in BGR order when ``bgr`` (left for the GPU to swap)."""

    array: np.ndarray
    bgr: bool

    def rgb(self) -> np.ndarray:
        return self.array[..., ::-1] if self.bgr else self.array


def image_to_pixels(msg) -> Pixels:
    """
    ``sensor_msgs/Image`` -> colour pixels as a view of the message where possible.

    BGR stays BGR: reversing channels on the CPU turns a plain copy into a
    strided one that costs milliseconds per VGA frame; the GPU does it free.
    """
    if msg.encoding not in _ENCODINGS and _BRIDGE is not None:
        return Pixels(_bridge_to_rgb(msg), False)
    pixels, layout = _pixels(msg)
    if layout in ('rgb', 'bgr'):
        return Pixels(pixels, layout == 'bgr')
    if layout in ('rgba', 'bgra'):
        return Pixels(pixels[..., :3], layout == 'bgra')
    if layout == 'mono':
        return Pixels(np.broadcast_to(pixels, (*pixels.shape[:2], 3)), False)
    if layout == 'mono16':
        # cv_bridge scales 16-bit to 8-bit by 1/256 when converting to rgb8.
        return Pixels(np.broadcast_to((pixels >> 8).astype(np.uint8), (*pixels.shape[:2], 3)),
                      False)
    code = cv2.COLOR_YUV2RGB_UYVY if layout == 'uyvy' else cv2.COLOR_YUV2RGB_YUYV
    return Pixels(cv2.cvtColor(np.ascontiguousarray(pixels), code), False)


def image_to_rgb(msg) -> np.ndarray:
    """``sensor_msgs/Image`` -> uint8 ``[H, W, 3]`` RGB (a view where possible)."""
    return image_to_pixels(msg).rgb()


def _bridge_to_rgb(msg) -> np.ndarray:
    try:
        return _BRIDGE.imgmsg_to_cv2(msg, 'rgb8')
    except Exception as error:  # cv_bridge raises CvBridgeError, TypeError, cv2.error
        raise BadImageError('encoding', f'cv_bridge cannot convert {quote(msg.encoding)} to '
                            f'rgb8: {quote(str(error))}') from error


def image_to_depth(msg) -> np.ndarray:
    """Depth ``sensor_msgs/Image`` (32FC1, 16UC1 mm) -> float32 ``[H, W]``, 16-bit in metres."""
    pixels, layout = _pixels(msg, _DEPTH_ENCODINGS)
    depth = pixels[..., 0].astype(np.float32)
    if layout == 'millimetres':
        depth *= 1e-3
    return depth


def compressed_to_pixels(msg) -> Pixels:
    """
    ``sensor_msgs/CompressedImage`` (jpeg/png) -> BGR pixels, as OpenCV decodes them.

    The format and declared size are read from the bytes first, so the same
    pixel limit as for raw frames holds before OpenCV allocates anything.
    """
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size == 0:
        raise BadImageError('empty', 'compressed image has no data')
    try:
        header = read_header(memoryview(data))
    except HeaderError as error:
        raise BadImageError(error.category, str(error)) from error
    _check_size(header.width, header.height, header.format)
    try:
        decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error as error:
        raise BadImageError('decode', f'OpenCV cannot decode this {header.format}: '
                            f'{str(error).strip()[-QUOTE_CHARS:]}') from error
    if decoded is None:
        raise BadImageError('decode', f'cannot decode this {header.format} '
                            f'({header.width}x{header.height}): data corrupt or cut short')
    return Pixels(decoded, True)


def compressed_to_rgb(msg) -> np.ndarray:
    """``sensor_msgs/CompressedImage`` (jpeg/png) -> uint8 ``[H, W, 3]`` RGB."""
    return compressed_to_pixels(msg).rgb()


def message_to_pixels(msg) -> Pixels:
    """Pixels of an Image or a CompressedImage (told apart by CompressedImage's ``format``)."""
    return compressed_to_pixels(msg) if hasattr(msg, 'format') else image_to_pixels(msg)


class ImageFields(NamedTuple):
    """The payload fields of an Image message for an array."""

    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: bytes


def checked_output_array(array: np.ndarray, encoding: str) -> np.ndarray:
    """``array`` made contiguous, refused unless its dtype and shape fit ``encoding``."""
    if encoding not in OUTPUT_ENCODINGS:
        raise ValueError(f"cannot publish encoding '{encoding}'")
    dtype, channels = OUTPUT_ENCODINGS[encoding]
    expected = (channels,) if channels > 1 else ()
    if array.dtype != dtype or array.ndim != 2 + bool(expected) or array.shape[2:] != expected:
        raise ValueError(f'{encoding} needs a {dtype.__name__} array of shape [H, W'
                         f'{", %d" % channels if expected else ""}], got {array.dtype} '
                         f'{array.shape}')
    return np.ascontiguousarray(array)


def array_to_fields(array: np.ndarray, encoding: str) -> ImageFields:
    """Fields of an Image carrying ``array``; ``bytes`` because rclpy copies them fastest."""
    array = checked_output_array(array, encoding)
    height, width = array.shape[:2]
    return ImageFields(height, width, encoding, int(array.dtype.byteorder == '>'),
                       array.strides[0], array.tobytes())


def fill_image(msg, array: np.ndarray, encoding: str, header=None):
    """Fill an Image message (any implementation) from ``array``; returns it."""
    for name, value in array_to_fields(array, encoding)._asdict().items():
        setattr(msg, name, value)
    if header is not None:
        msg.header = header
    return msg
