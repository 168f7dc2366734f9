"""
Frames to the device and results back without waiting for the device, and stage times.

On CUDA a frame is staged in pinned host memory and copied up asynchronously,
results are copied down into pinned memory, and ``InFlight.wait`` synchronises on
one event recorded after the last copy: the one wait a frame costs. Each batch
in flight owns a set of pinned host buffers until it is released, so several
batches may be in flight. On the CPU the same calls run synchronously.

The depth estimator and the YOLO detector share this: a process that shares its
GPU with another one (depth_node and detector_node) waits for its turn on the
GPU at every synchronisation, so fewer waits per frame matter more than GPU time.
"""
from contextlib import nullcontext
import time
from typing import ContextManager, Dict, List, Sequence

import numpy as np
import torch

from depth_trt_ros.inference.backends.base import TensorBuffers


def on_device(device: torch.device) -> ContextManager:
    """
    Make ``device`` the current CUDA device for the enclosed work (nothing on the CPU).

    Events, graph captures and the current stream follow the current device: a
    node on ``cuda:1`` must not record its events on ``cuda:0``'s stream.
    """
    return torch.cuda.device(device) if device.type == 'cuda' else nullcontext()


class StageClock:
    """Stage durations via CUDA events on GPU and the host clock on CPU."""

    def __init__(self, device: torch.device):
        self._cuda = device.type == 'cuda'
        self._marks: List = []

    def mark(self, name: str):
        if self._cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self._marks.append((name, event))
        else:
            self._marks.append((name, time.perf_counter()))

    def durations_ms(self) -> Dict[str, float]:
        """Milliseconds between consecutive marks; call after the work has finished."""
        result = {}
        for (_, start), (name, end) in zip(self._marks, self._marks[1:]):
            result[name] = start.elapsed_time(end) if self._cuda else (end - start) * 1e3
        return result


class Transfers:
    """Uploads frames and downloads results for one device, reusing every buffer."""

    def __init__(self, device: torch.device):
        self.device = device
        self.asynchronous = device.type == 'cuda'
        self._idle_host_buffers: List[TensorBuffers] = []
        self._device_buffers = TensorBuffers(device)

    def begin(self) -> 'InFlight':
        """Take a set of host buffers for one batch; ``InFlight.release`` gives them back."""
        host = self._idle_host_buffers.pop() if self._idle_host_buffers else \
            TensorBuffers(torch.device('cpu'), pin_memory=self.asynchronous)
        return InFlight(self, host)

    def upload(self, frames: Sequence[np.ndarray], batch: 'InFlight') -> torch.Tensor:
        """uint8 ``[H, W, C]`` frames of one shape -> ``[B, H, W, C]`` on the device."""
        shape = (len(frames), *frames[0].shape)
        if not self.asynchronous:
            # Conversions hand over views (BGR flipped, padded rows): make them contiguous.
            return torch.from_numpy(np.ascontiguousarray(np.stack(frames)))
        staging = batch.host.get('frames', shape, torch.uint8)
        staged = staging.numpy()
        for i, frame in enumerate(frames):
            staged[i] = frame
        on_device = self._device_buffers.get('frames', shape, torch.uint8)
        on_device.copy_(staging, non_blocking=True)
        return on_device

    def download(self, name: str, tensor: torch.Tensor, batch: 'InFlight') -> np.ndarray:
        """Return the tensor's values, valid once ``batch.wait()`` returned (pinned memory)."""
        if not self.asynchronous:
            return tensor.numpy()
        pinned = batch.host.get(name, tuple(tensor.shape), tensor.dtype)
        pinned.copy_(tensor, non_blocking=True)
        return pinned.numpy()

    def give_back(self, host: TensorBuffers):
        self._idle_host_buffers.append(host)

    def clear(self):
        if self.asynchronous:
            # Work still in flight reads these buffers.
            torch.cuda.synchronize(self.device)
        self._idle_host_buffers.clear()
        self._device_buffers.clear()


class InFlight:
    """One batch's host buffers and the event after its last copy."""

    def __init__(self, transfers: Transfers, host: TensorBuffers):
        self.host = host
        self._transfers = transfers
        self._done = None
        self._released = False

    def launched(self):
        """Mark the end of the batch's device work (call after the last download)."""
        if self._transfers.asynchronous:
            self._done = torch.cuda.Event()
            self._done.record()

    def wait(self):
        """Block until the batch's downloads have landed; only once."""
        if self._released:
            raise RuntimeError('this batch was collected already')
        if self._done is not None:
            self._done.synchronize()

    def release(self):
        """Hand the host buffers to the next batch: copy out what must outlive this."""
        self._released = True
        self._transfers.give_back(self.host)
