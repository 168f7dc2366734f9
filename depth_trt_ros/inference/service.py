"""
A depth estimator that can be swapped for another one without stopping.

The node hands it its configuration; a reload builds the new estimator first
and swaps it in only when that succeeded, so a failed reconfiguration leaves
the running model untouched.
"""
import threading
import time
from typing import Callable, Dict

import numpy as np
import torch

from depth_trt_ros.inference.backends import choose_backend, create_backend
from depth_trt_ros.inference.backends.base import resolve_device, resolve_precision
from depth_trt_ros.inference.estimator import DepthEstimator, DepthResult

WARMUP_SIZE = (480, 640)


def build_estimator(config, log: Callable[[str], None]) -> DepthEstimator:
    """Load and warm up the estimator that ``config`` describes; logs the time taken."""
    started = time.perf_counter()
    device = resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    kind = choose_backend(config.backend, config.model_path)
    options = {'cuda_graph': config.cuda_graph} if kind in ('torch', 'tensorrt') else {}
    backend = create_backend(kind, config.model_path, device, precision, **options)
    estimator = DepthEstimator(backend, config.input_size, config.colormap)
    loaded = time.perf_counter()
    estimator.warmup(*WARMUP_SIZE)
    log(f'{kind} backend on {device} ({precision}) loaded {config.model_path} in '
        f'{loaded - started:.1f} s, warmed up in {time.perf_counter() - loaded:.1f} s')
    return estimator


class DepthService:
    """Thread-safe holder of the current estimator."""

    def __init__(self, estimator: DepthEstimator):
        self._estimator = estimator
        self._lock = threading.Lock()

    @classmethod
    def load(cls, config, log: Callable[[str], None]) -> 'DepthService':
        return cls(build_estimator(config, log))

    @property
    def metric(self) -> bool:
        return self._estimator.metric

    def estimate(self, frame: np.ndarray, colorized: bool) -> DepthResult:
        with self._lock:
            return self._estimator.estimate(frame, colorized)

    def estimate_batch(self, frames, colorized: bool):
        with self._lock:
            return self._estimator.estimate_batch(frames, colorized)

    def set_colormap(self, name: str):
        with self._lock:
            self._estimator.set_colormap(name)

    def reload(self, config, log: Callable[[str], None]):
        """Replace the estimator; raises (and keeps the old one) if the new one fails."""
        fresh = build_estimator(config, log)
        with self._lock:
            old, self._estimator = self._estimator, fresh
        old.close()

    def describe(self) -> Dict[str, str]:
        info = self._estimator.backend.info()
        values = {'backend': info.backend, 'model': info.model, 'device': info.device,
                  'precision': info.precision, 'input_size': str(self._estimator.input_size),
                  'depth_type': 'metric (m)' if self.metric else 'relative inverse depth'}
        values.update(info.detail)
        return values

    def release(self) -> int:
        """Free the model; returns the bytes of device memory given back."""
        device = self._estimator.device
        cuda = device.type == 'cuda'
        before = torch.cuda.memory_allocated(device) if cuda else 0
        with self._lock:
            self._estimator.close()
            self._estimator = None
        if cuda:
            torch.cuda.synchronize(device)
            torch.cuda.empty_cache()
            return before - torch.cuda.memory_allocated(device)
        return 0
