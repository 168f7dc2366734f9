"""
The closing report of a bag replay: frame counts, throughput, per-stage times.

Depth has the main part; with a detector, the detector adds its own: frames,
objects found, failures and its stages (its stage names repeat depth's, so
they get a table of their own).
"""
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

STAGES = ('read', 'convert', 'preprocess', 'infer', 'postprocess', 'write')
DETECTION_STAGES = ('preprocess', 'infer', 'postprocess', 'distance', 'write')


class StageTimes:
    """Milliseconds per stage, one sample per frame."""

    def __init__(self, stages: Sequence[str]):
        self.samples: Dict[str, List[float]] = {stage: [] for stage in stages}

    def add(self, timings_ms: Dict[str, float]):
        for stage, values in self.samples.items():
            values.append(timings_ms[stage])

    def percentiles(self) -> Dict[str, Dict[str, float]]:
        return {stage: {'p50': round(float(np.percentile(values, 50)), 3),
                        'p95': round(float(np.percentile(values, 95)), 3)}
                for stage, values in self.samples.items() if values}

    def table(self, title: str) -> List[str]:
        lines = [f"{title:<12}{'p50 ms':>10}{'p95 ms':>10}"]
        for stage, values in self.percentiles().items():
            lines.append(f"{stage:<12}{values['p50']:>10.2f}{values['p95']:>10.2f}")
        return lines


@dataclass
class DetectionReport:
    """What the detector did: frames, objects, failures, frames without x and y, stages."""

    frames: int = 0
    detections: int = 0
    failed: int = 0
    # Metric depth, but no calibrated camera_info: objects got z only, as in distance_node.
    frames_without_camera_info: int = 0
    stages: StageTimes = field(default_factory=lambda: StageTimes(DETECTION_STAGES))
    description: Dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {'frames': self.frames, 'detections': self.detections, 'failed': self.failed,
                'frames_without_camera_info': self.frames_without_camera_info,
                'stages_ms': self.stages.percentiles(), 'detector': self.description}

    def text_lines(self) -> List[str]:
        lines = [f'detector: {self.frames} frames, {self.detections} detections, '
                 f'{self.failed} failed']
        if self.frames_without_camera_info:
            lines.append(f'detections_3d without x and y (no calibrated camera_info): '
                         f'{self.frames_without_camera_info} frames')
        return lines + self.stages.table('detection')


@dataclass
class ReplayReport:
    """What a replay did: frame counts, throughput, per-stage timings, bad frames."""

    frames_read: int = 0
    frames_written: int = 0
    bad_by_reason: Counter = field(default_factory=Counter)
    elapsed_s: float = 0.0
    stages: StageTimes = field(default_factory=lambda: StageTimes(STAGES))
    description: Dict[str, str] = field(default_factory=dict)
    detection: Optional[DetectionReport] = None

    @property
    def frames_bad(self) -> int:
        return sum(self.bad_by_reason.values())

    @property
    def throughput_fps(self) -> float:
        return self.frames_written / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def stage_percentiles(self) -> Dict[str, Dict[str, float]]:
        return self.stages.percentiles()

    def as_dict(self) -> dict:
        summary = {'frames_read': self.frames_read, 'frames_written': self.frames_written,
                   'frames_bad': self.frames_bad, 'bad_by_reason': dict(self.bad_by_reason),
                   'elapsed_s': round(self.elapsed_s, 3),
                   'throughput_fps': round(self.throughput_fps, 3),
                   'stages_ms': self.stage_percentiles(), 'estimator': self.description}
        if self.detection is not None:
            summary['detection'] = self.detection.as_dict()
        return summary

    def as_text(self) -> str:
        lines = [f'frames: {self.frames_read} read, {self.frames_written} written, '
                 f'{self.frames_bad} bad',
                 f'throughput: {self.throughput_fps:.2f} frames/s over {self.elapsed_s:.1f} s',
                 *self.stages.table('stage')]
        for reason, count in sorted(self.bad_by_reason.items()):
            lines.append(f'bad frames ({reason}): {count}')
        if self.detection is not None:
            lines += self.detection.text_lines()
        return '\n'.join(lines)
