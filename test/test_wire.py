"""Serialized messages from the wire are checked before rclpy deserializes them."""
import os
import struct
import subprocess
import sys

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from hypothesis import given, settings, strategies as st
import pytest
from rclpy.serialization import serialize_message
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from depth_trt_ros.ros.wire import check_cdr, deserialize_checked, MalformedMessage, quote

HERE = os.path.dirname(__file__)
TEXT = st.text(max_size=20).map(lambda t: t.replace('\0', ''))


@settings(max_examples=300, deadline=None, database=None)
@given(st.builds(CameraInfo, distortion_model=TEXT,
                 d=st.lists(st.floats(allow_nan=False), max_size=9),
                 width=st.integers(0, 2**32 - 1), height=st.integers(0, 2**32 - 1)),
       st.builds(CompressedImage, format=TEXT, data=st.binary(max_size=64)),
       st.lists(st.builds(KeyValue, key=TEXT, value=TEXT), max_size=5))
def test_every_valid_message_passes_and_round_trips(info, compressed, values):
    """Accept whole what rclpy's own serializer writes (the oracle)."""
    diagnostics = DiagnosticArray(status=[DiagnosticStatus(name='x', values=values)])
    for msg in (info, compressed, diagnostics):
        data = serialize_message(msg)
        assert check_cdr(data, type(msg)) == (True, len(data))
        assert deserialize_checked(data, type(msg)) == msg


@pytest.mark.parametrize('payload,category', [
    (b'', 'cdr_truncated'), (b'\x00\x01', 'cdr_truncated'),
    (b'\x00\x01\x00\x03', 'cdr_truncated'),  # once SIGSEGV in deserialize_message
    (b'\x00\x06\x00\x00' + bytes(64), 'cdr_encapsulation'),
    (b'\x01\x01\x00\x00' + bytes(64), 'cdr_encapsulation'),
    (b'\x00\x01\x00\x00' + b'\xff' * 64, 'cdr_truncated'),
])
def test_malformed_bytes_are_refused_by_category(payload, category):
    with pytest.raises(MalformedMessage) as caught:
        deserialize_checked(payload, Image)
    assert caught.value.category == category


def test_a_string_without_its_terminator_is_refused():
    data = bytearray(serialize_message(CompressedImage(format='jpeg')))
    data[data.index(b'jpeg\0') + 4] = ord('!')
    with pytest.raises(MalformedMessage) as caught:
        deserialize_checked(bytes(data), CompressedImage)
    assert caught.value.category == 'cdr_string'


def test_a_boolean_other_than_0_or_1_is_refused():
    from sensor_msgs.msg import RegionOfInterest
    data = bytearray(serialize_message(RegionOfInterest(do_rectify=True)))
    data[4 + 16] = 7  # after the header and four uint32 fields
    with pytest.raises(MalformedMessage) as caught:
        deserialize_checked(bytes(data), RegionOfInterest)
    assert caught.value.category == 'cdr_bool'


def test_big_endian_messages_are_read_too():
    big = (b'\x00\x00\x00\x00' + struct.pack('>iI', 5, 6) + struct.pack('>I', 1) + b'\0\0\0\0'
           + struct.pack('>II', 1, 2) + struct.pack('>I', 6) + b'mono8\0'
           + b'\0\0'  # is_bigendian, padding
           + struct.pack('>II', 2, 2) + b'ab')
    msg = deserialize_checked(big, Image)
    assert (msg.header.stamp.sec, msg.height, msg.width, msg.encoding, bytes(msg.data)) == \
        (5, 1, 2, 'mono8', b'ab')


def test_declared_padding_is_not_handed_to_rclpy():
    data = bytearray(serialize_message(Image(encoding='rgb8')))
    data[3] = 3
    data += b'\0\0\0'
    assert deserialize_checked(bytes(data), Image).encoding == 'rgb8'


def test_quote_cuts_what_an_attacker_controls():
    assert len(quote('x' * 10_000)) < 120
    assert quote('bgr8') == "'bgr8'"


def test_thousands_of_hostile_payloads_never_crash_the_process():
    """In a child process, so that a segfault is a failed test, not a dead test run."""
    child = subprocess.run([sys.executable, os.path.join(HERE, 'wire_fuzz_child.py'), '1000'],
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                               [HERE, os.environ.get('PYTHONPATH', '')])))
    assert child.returncode == 0, f'child ended with {child.returncode}: {child.stderr[-2000:]}'
    refused, accepted = (int(n) for n in child.stdout.split()[1::2])
    assert refused > 4000 and refused + accepted == 5000
