"""
What a compressed frame claims to be, read from its first bytes before decoding.

A few hundred bytes of JPEG or PNG can declare a multi-gigapixel image, and
OpenCV allocates for it before it finds the data missing. So the format is
recognised from the bytes (jpeg and png are what the docs promise; the
``format`` field is the sender's word, not checked), and the declared size is
read from the PNG IHDR chunk or the JPEG start-of-frame segment, so the node
can refuse it with the same pixel limit as raw frames.
"""
import struct
from typing import NamedTuple

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
JPEG_START = b'\xff\xd8'
# Start-of-frame markers (baseline, progressive, lossless, arithmetic): not DHT, JPG, DAC.
_JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers that stand alone, without a length: TEM, RST0-7, SOI.
_JPEG_BARE_MARKERS = frozenset([0x01, *range(0xD0, 0xD9)])


class HeaderError(ValueError):
    """The bytes are no JPEG or PNG, or their header is cut short; ``category`` says which."""

    def __init__(self, category: str, message: str):
        super().__init__(message)
        self.category = category


class CompressedHeader(NamedTuple):
    format: str
    width: int
    height: int


def read_header(data: bytes) -> CompressedHeader:
    """Return format and declared size of JPEG or PNG ``data``; raise HeaderError otherwise."""
    if data[:8] == PNG_SIGNATURE:
        return _png(data)
    if data[:2] == JPEG_START:
        return _jpeg(data)
    raise HeaderError('format', f'data starting {bytes(data[:8]).hex()} is neither JPEG nor '
                      'PNG: publish jpeg or png compressed images')


def _png(data: bytes) -> CompressedHeader:
    # The signature is followed by the IHDR chunk: length, 'IHDR', width, height.
    if len(data) < 24 or data[12:16] != b'IHDR':
        raise HeaderError('decode', 'PNG without its IHDR chunk')
    width, height = struct.unpack_from('>II', data, 16)
    return CompressedHeader('png', width, height)


def _jpeg(data: bytes) -> CompressedHeader:
    offset = 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            raise HeaderError('decode', f'JPEG segment expected at byte {offset}')
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte before a marker
            offset += 1
            continue
        if marker in _JPEG_BARE_MARKERS:
            offset += 2
            continue
        if marker == 0xD9:
            break
        length, = struct.unpack_from('>H', data, offset + 2)
        if marker in _JPEG_FRAME_MARKERS:
            if length < 7 or offset + 9 > len(data):
                break
            height, width = struct.unpack_from('>HH', data, offset + 5)
            return CompressedHeader('jpeg', width, height)
        if length < 2:
            raise HeaderError('decode', f'JPEG segment at byte {offset} has length {length}')
        offset += 2 + length
    raise HeaderError('decode', 'JPEG without a start-of-frame segment (cut short?)')
