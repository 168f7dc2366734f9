"""
A depth estimator that can be swapped for another one without stopping.

The node hands it its configuration; a reload builds the new estimator first
and swaps it in only when that succeeded, so a failed reconfiguration leaves
the running model untouched.
"""
import ctypes
import gc
import threading
import time
from typing import Callable, Dict

import torch

from depth_trt_ros.inference.backends import build_backend, ModelLoadError
from depth_trt_ros.inference.estimator import DepthEstimator, Outputs, PendingDepth


def build_estimator(config, log: Callable[[str], None]) -> DepthEstimator:
    """Load and warm up the estimator that ``config`` describes; logs the time taken."""
    started = time.perf_counter()
    backend = build_backend(config.backend, config.model_path, config.device,
                            config.precision, config.cuda_graph,
                            config.torch_compile)
    try:
        _check_batch(backend, config)
        # The engine's input size (when it records one) against the node's.
        backend.check_frame_size(*backend.warmup_frame_size, config.input_size)
    except (ValueError, ModelLoadError):
        backend.close()
        raise
    estimator = DepthEstimator(backend, config.input_size, config.colormap, config.cuda_graph)
    loaded = time.perf_counter()
    try:
        # Each batch the node may form is captured (and compiled) now, not at its first
        # frames: a compiled model meets a new batch size with ~20 s of compiling.
        for batch in range(1, _largest_batch(config) + 1):
            estimator.warmup(*backend.warmup_frame_size, batch=batch)
    except BaseException:  # noqa: B036 - e.g. out of memory: free the device, then re-raise
        estimator.close()
        raise
    log(f'{backend.name} backend on {backend.device} ({backend.precision}) loaded '
        f'{config.model_path} in '
        f'{loaded - started:.1f} s, warmed up in {time.perf_counter() - loaded:.1f} s')
    return estimator


def _check_batch(backend, config):
    """
    Refuse an engine that cannot take the batches the node will form.

    Frames of several cameras that arrive together run as one batch of up to
    ``max_batch``; an engine built for fewer would fail every such batch.
    """
    wanted = _largest_batch(config)
    if backend.max_batch is not None and wanted > backend.max_batch:
        raise ValueError(
            f"engine '{config.model_path}' takes at most {backend.max_batch} frame(s) per call, "
            f'but {wanted} cameras may be batched (max_batch {config.max_batch}): set '
            f'max_batch to {backend.max_batch}, or {backend.rebuild_advice(wanted)}')


def _largest_batch(config) -> int:
    """Return the most frames the node batches: one per camera, at most ``max_batch``."""
    return min(getattr(config, 'max_batch', 1), len(getattr(config, 'image_topics', ['image'])))


class DepthService:
    """Thread-safe holder of the current estimator."""

    def __init__(self, estimator: DepthEstimator):
        self._estimator = estimator
        self._lock = threading.Lock()

    @classmethod
    def load(cls, config, log: Callable[[str], None],
             check: Callable[[bool], None] = lambda metric: None) -> 'DepthService':
        """Build the estimator; ``check(metric)`` may refuse it by raising ValueError."""
        estimator = build_estimator(config, log)
        try:
            check(estimator.metric)
        except ValueError:
            estimator.close()
            raise
        return cls(estimator)

    @property
    def metric(self) -> bool:
        return self._estimator.metric

    @property
    def pipelined(self) -> bool:
        return self._estimator.pipelined

    def estimate_batch(self, frames, outputs: Outputs, bgr: bool = False):
        return self.launch_batch(frames, outputs, bgr).collect()

    def launch_batch(self, frames, outputs: Outputs, bgr: bool = False) -> PendingDepth:
        """Enqueue a batch; collect it even across a reload (which waits for it)."""
        with self._lock:
            return self._estimator.launch_batch(frames, outputs, bgr)

    def set_colormap(self, name: str):
        with self._lock:
            self._estimator.set_colormap(name)

    def reload(self, config, log: Callable[[str], None],
               check: Callable[[bool], None] = lambda metric: None):
        """Replace the estimator; raises (and keeps the old one) if the new one fails."""
        fresh = self.load(config, log, check)._estimator
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

    def device_memory_bytes(self) -> int:
        """Bytes torch holds on the estimator's CUDA device (0 on the CPU)."""
        device = self._estimator.device
        return torch.cuda.memory_allocated(device) if device.type == 'cuda' else 0

    def release(self) -> int:
        """Free the model; returns the bytes of device memory given back."""
        device = self._estimator.device
        cuda = device.type == 'cuda'
        before = torch.cuda.memory_allocated(device) if cuda else 0
        with self._lock:
            self._estimator.close()
            self._estimator = None
        gc.collect()
        _return_heap_to_os()
        if cuda:
            torch.cuda.synchronize(device)
            torch.cuda.empty_cache()
            return before - torch.cuda.memory_allocated(device)
        return 0


def _return_heap_to_os():
    """Ask glibc to unmap freed heap pages; without it CPU weights stay resident."""
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass
