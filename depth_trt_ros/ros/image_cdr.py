"""
sensor_msgs/Image read from and written to its CDR bytes directly, for the hot path.

rclpy builds a Python message from a 1 MB image field by field (and back again
to publish one), holding the interpreter lock throughout. Image's layout in
little-endian CDR is fixed and short, so a frame can be read as a view of the
bytes DDS handed over, and written with one copy of its pixels. Measured in the
node on the H200's host: reading a VGA frame 0.33 -> 0.06 ms, publishing its
depth 0.78 -> 0.69 ms (the rest is rmw and Fast DDS copying it). What
``parse_image`` does not recognise (big-endian CDR, inconsistent lengths) goes
through :func:`~depth_trt_ros.ros.wire.deserialize_checked`, which deserializes
a valid message and refuses a malformed one before rclpy could crash on it.
"""
import struct
from typing import NamedTuple, Optional, Type

from builtin_interfaces.msg import Time
import numpy as np
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from depth_trt_ros.ros.conversions import checked_output_array
from depth_trt_ros.ros.wire import deserialize_checked

# Encapsulation header: plain CDR, little endian, no options.
CDR_LE = b'\x00\x01\x00\x00'


class RawImage(NamedTuple):
    """Image's fields, ``data`` a view of the serialized message (no copy)."""

    header: Header
    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: memoryview


def parse_image(serialized: bytes) -> Optional[RawImage]:
    """Read an Image from its CDR bytes; None for anything but consistent little-endian CDR."""
    if serialized[:2] != CDR_LE[:2]:
        return None
    # CDR aligns to the start of the body, after the 4-byte encapsulation header.
    body = memoryview(serialized)[4:]
    try:
        sec, nanosec = struct.unpack_from('<iI', body, 0)
        frame_id, offset = _read_string(body, 8)
        height, width = struct.unpack_from('<II', body, _align(offset))
        encoding, offset = _read_string(body, _align(offset) + 8)
        is_bigendian = body[offset]
        step, size = struct.unpack_from('<II', body, _align(offset + 1))
    except (struct.error, IndexError, UnicodeDecodeError):
        return None
    start = _align(offset + 1) + 8
    if start + size > len(body):
        return None
    return RawImage(Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=frame_id), height,
                    width, encoding, is_bigendian, step, body[start:start + size])


def decode_image(serialized: bytes, msg_type: Type):
    """
    Return a :class:`RawImage` where the bytes allow, else the checked message.

    Raises :class:`~depth_trt_ros.ros.wire.MalformedMessage` for bytes that are
    no ``msg_type``.
    """
    raw = parse_image(serialized) if msg_type is Image else None
    return raw if raw is not None else deserialize_checked(serialized, msg_type)


def serialize_image(array: np.ndarray, encoding: str, header) -> bytes:
    """Return the CDR bytes of the Image ``fill_image`` would make (padding zeroed)."""
    array = checked_output_array(array, encoding)
    height, width = array.shape[:2]
    head = bytearray(CDR_LE)
    head += struct.pack('<iI', header.stamp.sec, header.stamp.nanosec)
    _write_string(head, header.frame_id)
    _pad(head)
    head += struct.pack('<II', height, width)
    _write_string(head, encoding)
    head.append(int(array.dtype.byteorder == '>'))
    _pad(head)
    head += struct.pack('<II', array.strides[0], array.nbytes)
    return b''.join((head, memoryview(array).cast('B')))


def _align(offset: int) -> int:
    return (offset + 3) & ~3


def _read_string(body: memoryview, offset: int):
    """
    Return the string at ``offset`` (length with its NUL, then the bytes) and its end.

    Strings end at their first NUL here, as the C strings rclpy reads and writes do.
    """
    length, = struct.unpack_from('<I', body, offset)
    start, end = offset + 4, offset + 4 + length
    if end > len(body) or (length and body[end - 1] != 0):
        raise IndexError('string runs past the message')
    return bytes(body[start:max(end - 1, start)]).split(b'\0', 1)[0].decode(), end


def _write_string(head: bytearray, text: str):
    encoded = text.encode().split(b'\0', 1)[0]
    head += struct.pack('<I', len(encoded) + 1) + encoded + b'\0'


def _pad(head: bytearray):
    """Align the next 4-byte field (the body starts 4 bytes in, so offsets agree)."""
    head += b'\0' * (-len(head) % 4)
