"""
Pair each detection message with the depth image of the same frame.

message_filters is not available everywhere this runs (it is no PyPI wheel),
and its approximate policy takes the first close pair rather than preferring
the exact stamp, which the depth node always reproduces. This pairer does
exact first: a detection waits for the depth with its own stamp. Once a
later depth has arrived, that one will never come (both streams follow the
camera's order; the depth node may skip frames), so the detection takes the
nearest depth within ``slop``, or is given up and reported as unmatched. A
detection that waited ``timeout_s`` without any later depth (the depth node
stopped, or fell far behind) is decided the same way by :meth:`expire`, so
that detections are never held back for as long as depth is missing.
"""
from collections import deque
import threading
import time
from typing import Callable, Deque, Optional, Tuple


def stamp_ns(stamp) -> int:
    return stamp.sec * 1_000_000_000 + stamp.nanosec


class StampPairer:
    """Calls ``on_pair(primary, secondary)`` or ``on_unmatched(primary)`` once per primary."""

    def __init__(self, slop_ns: int, queue_size: int, on_pair: Callable,
                 on_unmatched: Callable, timeout_s: float = 0.5):
        self._on_pair = on_pair
        self._on_unmatched = on_unmatched
        # (stamp, message, monotonic time of arrival)
        self._pending: Deque[Tuple[int, object, float]] = deque()
        self._secondaries: Deque[Tuple[int, object]] = deque()
        self._lock = threading.Lock()
        self.configure(slop_ns, queue_size, timeout_s)

    def configure(self, slop_ns: int, queue_size: int, timeout_s: float = 0.5):
        """Change slop, queue size and timeout; what waits is kept (the newest, if it shrank)."""
        with self._lock:
            self._slop_ns = slop_ns
            self._queue_size = queue_size
            self._timeout_s = timeout_s
            self._secondaries = deque(self._secondaries, maxlen=queue_size)
            ready = self._resolve()
        self._deliver(ready)

    def add_primary(self, stamp: int, msg):
        with self._lock:
            self._pending.append((stamp, msg, time.monotonic()))
            ready = self._resolve()
        self._deliver(ready)

    def expire(self, now: Optional[float] = None):
        """Decide the detections that waited ``timeout_s`` (call it periodically)."""
        with self._lock:
            ready = self._resolve((now if now is not None else time.monotonic())
                                  - self._timeout_s)
        self._deliver(ready)

    def add_secondary(self, stamp: int, msg):
        with self._lock:
            self._secondaries.append((stamp, msg))
            ready = self._resolve()
        self._deliver(ready)

    def _resolve(self, expired_before: float = float('-inf')):
        """Take every pending primary that can be decided now, in arrival order."""
        ready = []
        newest = max((s for s, _ in self._secondaries), default=None)
        while self._pending:
            stamp, msg, arrived = self._pending[0]
            exact = next((m for s, m in self._secondaries if s == stamp), None)
            overflowing = len(self._pending) > self._queue_size
            waiting = (newest is None or newest < stamp) and arrived > expired_before
            if exact is None and not overflowing and waiting:
                break
            self._pending.popleft()
            ready.append((msg, exact if exact is not None else self._nearest(stamp)))
        return ready

    def _nearest(self, stamp: int) -> Optional[object]:
        candidates = [(abs(s - stamp), m) for s, m in self._secondaries
                      if abs(s - stamp) <= self._slop_ns]
        return min(candidates, key=lambda c: c[0])[1] if candidates else None

    def _deliver(self, ready):
        # Outside the lock: callbacks publish and may take a while.
        for primary, secondary in ready:
            if secondary is None:
                self._on_unmatched(primary)
            else:
                self._on_pair(primary, secondary)
