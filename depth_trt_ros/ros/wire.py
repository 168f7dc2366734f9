"""
Serialized messages from the wire, checked before anything that can crash sees them.

Any process on the DDS domain can publish any bytes on a topic a node
subscribes to, and ``rclpy.serialization.deserialize_message`` trusts them:
an encapsulation header that declares padding longer than the payload (``00
01 00 03`` alone) makes it read past the buffer and kill the process with
SIGSEGV (Kilted and Jazzy). So every subscription of this package takes its
messages raw, and :func:`deserialize_checked` walks the bytes against the
message type first (encapsulation, alignment, every length, string
terminators, booleans, sequence bounds), then hands rclpy a copy whose header
declares no padding. What fails is a :class:`MalformedMessage` with a
category that diagnostics count.

The walk follows the CDR (XCDR1) layout that rmw_fastrtps writes: primitives
aligned to their size (at most 8) from the start of the body, strings and
sequences prefixed by a uint32 count. Checking is pure Python but costs only
the message's structure, not its payload (a 1 MB image is four length checks).
"""
import importlib
import struct
from typing import Dict, Tuple

from rclpy.serialization import deserialize_message
from rosidl_parser.definition import (AbstractNestedType, AbstractString, AbstractWString,
                                      Array, BasicType, BoundedSequence, BoundedString,
                                      NamespacedType)

CDR_BE, CDR_LE = 0, 1
HEADER_BYTES = 4
_SIZES = {'boolean': 1, 'octet': 1, 'char': 1, 'int8': 1, 'uint8': 1, 'int16': 2, 'uint16': 2,
          'wchar': 2, 'int32': 4, 'uint32': 4, 'float': 4, 'int64': 8, 'uint64': 8,
          'double': 8}
# How much of an attacker's text a log line or error message repeats.
QUOTE_CHARS = 80


class MalformedMessage(ValueError):
    """Bytes that are not a message of the expected type; ``category`` names the fault."""

    CATEGORIES = ('cdr_encapsulation', 'cdr_truncated', 'cdr_string', 'cdr_bool', 'cdr_bound',
                  'cdr_unsupported')

    def __init__(self, category: str, message: str):
        super().__init__(message)
        self.category = category


def quote(text, limit: int = QUOTE_CHARS) -> str:
    """``repr`` of untrusted ``text`` cut to ``limit`` characters, safe for one log line."""
    shown = repr(text)
    return shown if len(shown) <= limit else f'{shown[:limit]}...({len(shown)} chars)'


def encapsulation(data) -> Tuple[bool, int]:
    """Return ``(little_endian, body_end)`` of a plain CDR payload, or raise."""
    if len(data) < HEADER_BYTES:
        raise MalformedMessage('cdr_truncated', f'{len(data)} bytes: shorter than the 4-byte '
                               'CDR encapsulation header')
    kind, options = data[1] if data[0] == 0 else -1, data[3] & 3
    if kind not in (CDR_BE, CDR_LE):
        raise MalformedMessage('cdr_encapsulation', f'encapsulation {bytes(data[:2]).hex()} is '
                               'not plain CDR (0000 or 0001)')
    # The low two option bits count padding bytes at the end of the payload.
    body_end = len(data) - options
    if body_end < HEADER_BYTES:
        raise MalformedMessage('cdr_truncated', f'{options} padding byte(s) declared in a '
                               f'{len(data)}-byte payload')
    return kind == CDR_LE, body_end


class _Walker:
    """Reads one message's structure from ``data[4:end]``, checking every step."""

    def __init__(self, data, little_endian: bool, end: int):
        self._data = data
        self._end = end
        self._order = '<' if little_endian else '>'
        self.offset = HEADER_BYTES

    def _take(self, size: int, align: int = 1) -> int:
        """Advance past ``size`` bytes aligned to ``align``; return where they start."""
        start = self.offset + (-(self.offset - HEADER_BYTES) % align)
        if size < 0 or start + size > self._end:
            raise MalformedMessage('cdr_truncated', f'a field at byte {start} needs {size} '
                                   f'byte(s), the message has {self._end}')
        self.offset = start + size
        return start

    def count(self) -> int:
        start = self._take(4, 4)
        return struct.unpack_from(self._order + 'I', self._data, start)[0]

    def message(self, msg_type):
        for slot in msg_type.SLOT_TYPES:
            self.value(slot)

    def value(self, slot):
        if isinstance(slot, BasicType):
            self.primitives(slot.typename, 1)
        elif isinstance(slot, AbstractString) and not isinstance(slot, AbstractWString):
            self.string(slot)
        elif isinstance(slot, NamespacedType):
            self.message(_message_class(slot))
        elif isinstance(slot, AbstractNestedType):
            self.sequence(slot)
        else:
            raise MalformedMessage('cdr_unsupported', f'cannot check a {type(slot).__name__}')

    def primitives(self, typename: str, count: int):
        size = _SIZES.get(typename)
        if size is None:
            raise MalformedMessage('cdr_unsupported', f"cannot check type '{typename}'")
        start = self._take(size * count, min(size, 8))
        if typename == 'boolean' and bytes(self._data[start:start + count]).strip(b'\0\1'):
            raise MalformedMessage('cdr_bool', f'a boolean at byte {start} is neither 0 nor 1')

    def string(self, slot):
        length = self.count()
        start = self._take(length)
        if length and self._data[start + length - 1] != 0:
            raise MalformedMessage('cdr_string', f'the string at byte {start} has no '
                                   'terminating NUL')
        if isinstance(slot, BoundedString) and length - 1 > slot.maximum_size:
            raise MalformedMessage('cdr_bound', f'a string of {length - 1} characters exceeds '
                                   f'its bound {slot.maximum_size}')

    def sequence(self, slot):
        if isinstance(slot, Array):
            count = slot.size
        else:
            count = self.count()
            if isinstance(slot, BoundedSequence) and count > slot.maximum_size:
                raise MalformedMessage('cdr_bound', f'a sequence of {count} elements exceeds '
                                       f'its bound {slot.maximum_size}')
        element = slot.value_type
        if isinstance(element, BasicType):
            self.primitives(element.typename, count)
            return
        # Every element takes at least one byte: a huge count fails here, not after a loop.
        if count > self._end - self.offset:
            raise MalformedMessage('cdr_truncated', f'{count} elements declared, '
                                   f'{self._end - self.offset} bytes left')
        for _ in range(count):
            self.value(element)


_CLASSES: Dict[Tuple[str, ...], type] = {}


def _message_class(slot: NamespacedType) -> type:
    key = tuple(slot.namespaced_name())
    if key not in _CLASSES:
        module = importlib.import_module('.'.join(key[:-1]))
        _CLASSES[key] = getattr(module, key[-1])
    return _CLASSES[key]


def check_cdr(data, msg_type) -> Tuple[bool, int]:
    """
    Raise :class:`MalformedMessage` unless ``data`` is a whole ``msg_type`` in plain CDR.

    Returns ``(little_endian, end)``: the byte order and where the message ends.
    """
    little_endian, body_end = encapsulation(data)
    walker = _Walker(data, little_endian, body_end)
    walker.message(msg_type)
    return little_endian, walker.offset


def deserialize_checked(data, msg_type):
    """``deserialize_message`` for bytes from the wire: checked first, see the module."""
    _, end = check_cdr(data, msg_type)
    # rclpy gets the message alone, declaring no padding: nothing to miscount.
    checked = bytearray(data[:end])
    checked[2:4] = b'\0\0'
    return deserialize_message(bytes(checked), msg_type)
