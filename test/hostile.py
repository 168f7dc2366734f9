"""
Hostile payloads for a message type: what a broken driver or an attacker can publish.

Random bytes of every length from 0 up, plain-CDR headers (some declaring
padding, which once crashed rclpy) over random bodies, and valid messages
truncated, with bytes flipped, or with a count field replaced by a huge or
off-by-one number. Deterministic for a seed, so a failure can be replayed.
"""
import random
import struct
from typing import List

from rclpy.serialization import serialize_message

HEADERS = (b'\x00\x01\x00\x00', b'\x00\x01\x00\x03', b'\x00\x00\x00\x00', b'\x00\x00\x00\x02',
           b'\x00\x07\x00\x00', b'\x00\x01\xff\xff')
COUNTS = (0xFFFFFFFF, 0x7FFFFFFF, 0x10000000, 65536, 0, 1)


def mutate(valid: bytes, rng: random.Random) -> bytes:
    """One mutation of a serialized message."""
    data = bytearray(valid)
    kind = rng.randrange(4)
    if kind == 0:
        return bytes(data[:rng.randrange(len(data) + 1)])
    if kind == 1:
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data)
    if kind == 2 and len(data) >= 8:
        offset = 4 + 4 * rng.randrange((len(data) - 4) // 4)
        struct.pack_into('<I', data, offset, rng.choice(COUNTS + (rng.getrandbits(32),)))
        return bytes(data)
    data[:4] = rng.choice(HEADERS)
    return bytes(data)


def hostile_payloads(valid_messages, count: int, seed: int = 0) -> List[bytes]:
    """``count`` payloads: random bytes, CDR headers over noise, mutated ``valid_messages``."""
    rng = random.Random(seed)
    valid = [serialize_message(m) for m in valid_messages]
    payloads = []
    for index in range(count):
        kind = index % 3
        if kind == 0:
            payloads.append(rng.randbytes(index // 3))
        elif kind == 1:
            payloads.append(rng.choice(HEADERS) + rng.randbytes(rng.randrange(64)))
        else:
            payloads.append(mutate(rng.choice(valid), rng))
    return payloads
