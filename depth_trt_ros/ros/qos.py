"""QoS for camera streams: match what the camera offers, publish what everyone can read."""
from typing import Iterable, Optional

from rclpy.qos import (DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy)

_RELIABILITY = {'best_effort': ReliabilityPolicy.BEST_EFFORT,
                'reliable': ReliabilityPolicy.RELIABLE}


def stream_qos(reliability: str, depth: int) -> QoSProfile:
    """Return the sensor-data shape (keep last, volatile) with the chosen reliability."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=_RELIABILITY[reliability],
                      durability=DurabilityPolicy.VOLATILE)


def offered_reliability(publishers: Iterable) -> Optional[str]:
    """
    Return what a subscriber must request to match every publisher (None: none).

    A reliable subscription cannot match a best-effort publisher, so one
    best-effort publisher makes the answer best_effort (as rosbag2 decides).
    """
    kinds = {info.qos_profile.reliability for info in publishers}
    if not kinds:
        return None
    return 'reliable' if kinds == {ReliabilityPolicy.RELIABLE} else 'best_effort'


def choose_input_reliability(setting: str, publishers: Iterable) -> str:
    """Resolve the ``qos`` parameter against the topic's current publishers."""
    if setting != 'auto':
        return setting
    # With no publisher yet, best-effort matches whichever kind appears first.
    return offered_reliability(publishers) or 'best_effort'
