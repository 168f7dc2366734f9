"""
Hostile payloads for a message type: what a broken driver or an attacker can publish.

Random bytes of every length from 0 up, plain-CDR headers (some declaring
padding, which once crashed rclpy) over random bodies, and valid messages
truncated, with bytes flipped, or with a count field replaced by a huge or
off-by-one number. Deterministic for a seed, so a failure can be replayed.
"""
import random
import struct
import time
from typing import Dict, List, Sequence

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


def flood(publisher, payloads: Sequence[bytes], gap_s: float = 0.001):
    """
    Publish ``payloads`` serialized, paced so that a node takes most of them.

    Those it does not take are overwritten in its keep-last queue, and the node
    counts them as dropped; the pace only decides how many reach its checks.
    """
    for payload in payloads:
        publisher.publish(payload)
        time.sleep(gap_s)


def node_counts(diagnostics, name: str) -> Dict[str, int]:
    """Every integer diagnostics value of the newest status of node ``name``."""
    from conftest import diagnostic_values
    values = diagnostic_values(diagnostics.messages, name)[1]
    return {key: int(value) for key, value in values.items() if value.isdigit()}


def frames_accounted(counts: Dict[str, int]) -> int:
    """Frames the node says it took (then served or refused) or that never reached it."""
    return sum(counts.get(f'frames_{key}', 0)
               for key in ('received', 'dropped', 'lost_in_transport'))


def bad_by_reason(counts: Dict[str, int]) -> Dict[str, int]:
    return {key[len('bad_'):]: n for key, n in counts.items() if key.startswith('bad_')}
