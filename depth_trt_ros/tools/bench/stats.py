"""
Numbers from samples: percentiles, frame rate, jitter, latency drift.

The names follow ros2_benchmark (isaac_ros_benchmark) where it has one, so
that our JSON can be read beside its results.
"""
from typing import Dict, Sequence

import numpy as np


def percentiles(values_ms: Sequence[float]) -> Dict[str, float]:
    """``mean/std/min/max/p50/p95/p99`` and ``count`` of millisecond samples."""
    values = np.asarray([v for v in values_ms if np.isfinite(v)], dtype=np.float64)
    if values.size == 0:
        return {'count': 0}
    p50, p95, p99 = np.percentile(values, (50, 95, 99))
    return {'count': int(values.size), 'mean': float(values.mean()), 'std': float(values.std()),
            'min': float(values.min()), 'max': float(values.max()),
            'p50': float(p50), 'p95': float(p95), 'p99': float(p99)}


def mean_frame_rate(receipt_times_s: Sequence[float]) -> float:
    """Frames per second between the first and last receipt (ros2_benchmark's definition)."""
    if len(receipt_times_s) < 2:
        return 0.0
    span = receipt_times_s[-1] - receipt_times_s[0]
    return (len(receipt_times_s) - 1) / span if span > 0 else 0.0


def jitter(receipt_times_s: Sequence[float]) -> Dict[str, float]:
    """How much consecutive inter-arrival intervals differ, in ms (ros2_benchmark's jitter)."""
    intervals = np.diff(np.asarray(receipt_times_s, dtype=np.float64))
    return percentiles(np.abs(np.diff(intervals)) * 1e3)


def latency_drift(latencies_ms: Sequence[float]) -> Dict[str, float]:
    """
    Median latency of the last third minus that of the first third, and the slope.

    A queue that grows shows as a positive drift; a pipeline that keeps up (or
    drops frames instead of queueing them) stays flat.
    """
    values = np.asarray(latencies_ms, dtype=np.float64)
    if values.size < 6:
        return {'drift_ms': float('nan'), 'slope_ms_per_frame': float('nan')}
    third = values.size // 3
    slope = np.polyfit(np.arange(values.size), values, 1)[0]
    return {'drift_ms': float(np.median(values[-third:]) - np.median(values[:third])),
            'slope_ms_per_frame': float(slope)}
