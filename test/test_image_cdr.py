"""The node's own Image CDR reader and writer agree with rclpy on every message."""
from hypothesis import given, settings, strategies as st
import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from depth_trt_ros.ros.conversions import fill_image, OUTPUT_ENCODINGS
from depth_trt_ros.ros.image_cdr import decode_image, parse_image, RawImage, serialize_image
from image_strategies import image_messages

CASES = settings(max_examples=300, deadline=None, database=None)
FRAME_IDS = st.one_of(st.sampled_from(['', 'c', 'ca', 'cam', 'camera_optical']),
                      st.text(st.characters(blacklist_categories=['Cs']), max_size=9))


@st.composite
def headers(draw):
    header = Header(frame_id=draw(FRAME_IDS))
    header.stamp.sec = draw(st.integers(-2**31, 2**31 - 1))
    header.stamp.nanosec = draw(st.integers(0, 10**9 - 1))
    return header


@st.composite
def output_arrays(draw):
    encoding = draw(st.sampled_from(sorted(OUTPUT_ENCODINGS)))
    dtype, channels = OUTPUT_ENCODINGS[encoding]
    shape = (draw(st.integers(1, 9)), draw(st.integers(1, 9))) + ((channels,) * (channels > 1))
    values = np.random.default_rng(draw(st.integers(0, 2**16))).random(shape) * 200
    return values.astype(dtype), encoding


@CASES
@given(output_arrays(), headers())
def test_a_written_image_reads_back_as_the_message_rclpy_writes(array_encoding, header):
    array, encoding = array_encoding
    by_rclpy = serialize_message(fill_image(Image(), array, encoding, header))
    written = serialize_image(array, encoding, header)
    assert len(written) == len(by_rclpy)
    assert deserialize_message(written, Image) == deserialize_message(by_rclpy, Image)


@CASES
@given(image_messages(), headers())
def test_a_read_image_has_the_fields_rclpy_reads(msg, header):
    msg.header = header
    serialized = serialize_message(msg)
    raw, expected = parse_image(serialized), deserialize_message(serialized, Image)
    assert raw is not None and raw.header == expected.header
    for field in ('height', 'width', 'encoding', 'is_bigendian', 'step'):
        assert getattr(raw, field) == getattr(expected, field), field
    assert bytes(raw.data) == bytes(expected.data)


@settings(CASES, max_examples=2_000)
@given(st.data())
def test_damaged_bytes_are_read_in_bounds_or_left_to_rclpy(data):
    msg = Image(height=2, width=3, encoding='rgb8', step=9, data=bytes(range(18)))
    msg.header.frame_id = data.draw(FRAME_IDS)
    serialized = bytearray(serialize_message(msg))
    for _ in range(data.draw(st.integers(1, 4))):
        serialized[data.draw(st.integers(0, len(serialized) - 1))] = data.draw(
            st.integers(0, 255))
    serialized = bytes(serialized[:data.draw(st.integers(0, len(serialized)))])
    raw = parse_image(serialized)
    assert raw is None or (isinstance(raw, RawImage) and
                           raw.data.nbytes <= len(serialized) - 4)


def test_only_little_endian_images_take_the_short_way():
    msg = fill_image(Image(), np.zeros((2, 2, 3), np.uint8), 'bgr8', Header(frame_id='cam'))
    serialized = serialize_message(msg)
    assert isinstance(decode_image(serialized, Image), RawImage)
    assert parse_image(b'\x00\x00' + serialized[2:]) is None
    compressed = serialize_message(CompressedImage(format='jpeg', data=b'\xff\xd8'))
    assert isinstance(decode_image(compressed, CompressedImage), CompressedImage)
    with pytest.raises(Exception):
        decode_image(serialized[:12], Image)
