"""
Counters and stage timings of a node, rendered as a DiagnosticStatus.

The statistics half is plain Python (tested without ROS); ``to_status``
renders it for ``/diagnostics`` with a level and the reasons for it.
"""
from collections import Counter, deque
import os
import threading
import time
from typing import Deque, Dict, Iterable, List, Optional, Tuple

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
import numpy as np

WINDOW = 300
FRAME_COUNTERS = ('received', 'published', 'colorized', 'skipped', 'dropped', 'bad', 'failed',
                  'lost_in_transport')


def process_rss_bytes() -> int:
    """Resident memory of this process now (Linux), 0 where /proc is missing."""
    try:
        with open('/proc/self/statm') as statm:
            return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    except (OSError, ValueError, IndexError):
        return 0


class RateMeter:
    """
    Events per second over a sliding window of timestamps.

    Bounded whether or not anyone reads the rate: old stamps are dropped on
    every tick, and at most ``max_events`` are kept (the rate of a flood is
    then measured over the newest ones).
    """

    def __init__(self, window_s: float = 5.0, max_events: int = 10_000):
        self._window_s = window_s
        self._times: Deque[float] = deque(maxlen=max_events)

    def tick(self, now: Optional[float] = None):
        now = time.monotonic() if now is None else now
        self._forget_before(now)
        self._times.append(now)

    def _forget_before(self, now: float):
        while self._times and self._times[0] < now - self._window_s:
            self._times.popleft()

    def __len__(self) -> int:
        return len(self._times)

    def rate(self, now: Optional[float] = None) -> float:
        now = time.monotonic() if now is None else now
        self._forget_before(now)
        if len(self._times) < 2:
            return 0.0
        return (len(self._times) - 1) / max(now - self._times[0], 1e-9)


class NodeStats:
    """Thread-safe counters, per-stage timings and rates of one processing node."""

    def __init__(self, stages: Iterable[str]):
        self.stages = tuple(stages)
        self._lock = threading.Lock()
        self._timings: Dict[str, Deque[float]] = {s: deque(maxlen=WINDOW) for s in self.stages}
        self._latency: Deque[float] = deque(maxlen=WINDOW)
        self.counts: Counter = Counter()
        # The same frame counters per camera, for nodes that serve several. Keys are
        # configured cameras and the package's own fault categories, never message text,
        # so these stay as small as the configuration.
        self.by_channel: Dict[str, Counter] = {}
        self.bad_by_reason: Counter = Counter()
        self.input_rate = RateMeter()
        self.output_rate = RateMeter()
        self._last_timings: Dict[str, float] = {}

    def _add(self, key: str, amount: int, channel: Optional[str]):
        self.counts[key] += amount
        if channel is not None:
            self.by_channel.setdefault(channel, Counter())[key] += amount

    def received(self, channel: Optional[str] = None):
        with self._lock:
            self._add('received', 1, channel)
            self.input_rate.tick()

    def count(self, key: str, amount: int = 1, channel: Optional[str] = None):
        with self._lock:
            self._add(key, amount, channel)

    def bad(self, reason: str, channel: Optional[str] = None, frame: bool = True):
        """Count a refused message by ``reason``; a ``frame`` also counts as a bad frame."""
        with self._lock:
            if frame:
                self._add('bad', 1, channel)
            self.bad_by_reason[reason] += 1

    def served(self, timings_ms: Dict[str, float], latency_ms: float,
               channel: Optional[str] = None):
        with self._lock:
            self._add('published', 1, channel)
            self.output_rate.tick()
            self._last_timings = dict(timings_ms)
            for stage, value in timings_ms.items():
                if stage in self._timings:
                    self._timings[stage].append(value)
            self._latency.append(latency_ms)

    def last_timings(self) -> Dict[str, float]:
        with self._lock:
            return dict(self._last_timings)

    def summary(self) -> Dict[str, Tuple[float, float, float]]:
        """``{stage: (mean, p50, p95)}`` in ms, latency included as ``latency``."""
        with self._lock:
            series = dict(self._timings, latency=self._latency)
            return {name: _mean_p50_p95(values) for name, values in series.items()}


def stamp_latency_ms(clock, stamp) -> float:
    """Milliseconds from a header stamp to now on ``clock``; NaN for an unset stamp."""
    if stamp.sec == 0 and stamp.nanosec == 0:
        return float('nan')
    return (clock.now().nanoseconds - (stamp.sec * 10**9 + stamp.nanosec)) / 1e6


def _mean_p50_p95(values) -> Tuple[float, float, float]:
    if not values:
        return float('nan'), float('nan'), float('nan')
    array = np.fromiter(values, dtype=np.float64)
    return float(array.mean()), float(np.percentile(array, 50)), float(np.percentile(array, 95))


def to_status(name: str, hardware_id: str, stats: NodeStats, info: Dict[str, str],
              warnings: List[str], errors: List[str]) -> DiagnosticStatus:
    """Render ``stats`` plus static ``info`` with the worst level among the reasons."""
    status = DiagnosticStatus(name=name, hardware_id=hardware_id)
    if errors:
        status.level, status.message = DiagnosticStatus.ERROR, '; '.join(errors + warnings)
    elif warnings:
        status.level, status.message = DiagnosticStatus.WARN, '; '.join(warnings)
    else:
        status.level, status.message = DiagnosticStatus.OK, 'ok'
    values = dict(info)
    for stage, (mean, p50, p95) in stats.summary().items():
        values[f'{stage}_ms_mean'] = f'{mean:.3f}'
        values[f'{stage}_ms_p50'] = f'{p50:.3f}'
        values[f'{stage}_ms_p95'] = f'{p95:.3f}'
    values['input_hz'] = f'{stats.input_rate.rate():.2f}'
    values['output_hz'] = f'{stats.output_rate.rate():.2f}'
    for key in FRAME_COUNTERS:
        values[f'frames_{key}'] = str(stats.counts[key])
        if len(stats.by_channel) > 1:
            for channel, counts in sorted(stats.by_channel.items()):
                values[f'frames_{key}[{channel}]'] = str(counts[key])
    values['incompatible_qos_events'] = str(stats.counts['incompatible_qos'])
    values['contained_errors'] = str(stats.counts['contained_errors'])
    values['inference_calls'] = str(stats.counts['inference_calls'])
    for reason, amount in sorted(stats.bad_by_reason.items()):
        values[f'bad_{reason}'] = str(amount)
    status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
    return status


def diagnostic_array(clock, status: DiagnosticStatus) -> DiagnosticArray:
    """Wrap one status in a stamped DiagnosticArray, ready for ``/diagnostics``."""
    msg = DiagnosticArray(status=[status])
    msg.header.stamp = clock.now().to_msg()
    return msg
