"""
DepthEstimator: frames in, depth out, on the backend's device.

preprocess -> backend -> postprocess, with one host->device copy of the uint8
frame, one device->host copy of the result, and per-stage timings read from
CUDA events (so timing adds no synchronisation). On CUDA the pre- and
postprocessing stages replay as CUDA graphs: a frame then costs the host a
dozen calls instead of a hundred kernel launches, which matters as much as GPU
time when a node's other threads want the same Python interpreter.

``launch_batch`` only enqueues that work and returns a ``PendingDepth``;
``collect`` waits for it. Between the two the caller's thread is free (a node
publishes the previous frame meanwhile), and several batches may be in
flight: each owns a set of pinned host buffers until it is collected.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
import torch

from depth_trt_ros.inference.backends.base import Backend, CudaGraphRunner
from depth_trt_ros.inference.geometry import back_project, Intrinsics, mark_invalid, pack_rgb, \
    to_millimetres
from depth_trt_ros.inference.model import is_metric_metadata
from depth_trt_ros.inference.postprocess import colorize, colormap_lut, resize_depth
from depth_trt_ros.inference.preprocess import DEFAULT_INPUT_SIZE, Preprocessor
from depth_trt_ros.inference.transfer import InFlight, on_device, StageClock, Transfers

STAGES = ('preprocess', 'infer', 'postprocess')
# Frame sizes known to fit the backend; a stream of ever new sizes only refills the set.
MAX_REMEMBERED_SIZES = 64


@dataclass
class DepthResult:
    """
    Depth for one frame: float32 ``[H, W]`` (metres if ``metric``, else relative inverse).

    Optional views, computed on the device only when asked for: ``colorized``
    (uint8 BGR), ``depth_mm`` (uint16, 0 = invalid) and ``points`` (float32
    ``[H, W, 3]`` xyz, or ``[H, W, 4]`` with PCL's packed rgb).
    """

    depth: np.ndarray
    metric: bool
    colorized: Optional[np.ndarray] = None
    depth_mm: Optional[np.ndarray] = None
    points: Optional[np.ndarray] = None
    timings_ms: Dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Outputs:
    """Which optional views to compute; point clouds need intrinsics."""

    colorized: bool = False
    depth_mm: bool = False
    intrinsics: Optional[Intrinsics] = None
    points_rgb: bool = False


def require_metric(metric: bool, model: str, how_to_turn_off: str):
    """Refuse millimetres and point clouds for a relative-depth model, saying what to do."""
    if not metric:
        raise ValueError(f"'{model}' is a relative-depth model (inverse depth without unit): "
                         'depth/mm and points need a metric model (e.g. depth-anything/'
                         f'Depth-Anything-V2-Metric-Indoor-Small-hf); {how_to_turn_off}')


class DepthEstimator:
    """Depth-Anything-V2 on any backend; knows nothing about ROS."""

    def __init__(self, backend: Backend, input_size: int = DEFAULT_INPUT_SIZE,
                 colormap: str = 'inferno', cuda_graph: bool = True):
        self.backend = backend
        self.device = backend.device
        self.input_size = input_size
        self._accepted_sizes: Set[Tuple[int, int]] = set()
        self.preprocess = Preprocessor(input_size, self.device, backend.input_dtype,
                                       backend.fixed_input_size)
        self._lut = None
        self.set_colormap(colormap)
        self._transfers = Transfers(self.device)
        self._preprocess, self._views = self.preprocess, self._compute_views
        self._graphs = ()
        if self.asynchronous and cuda_graph:
            self._graphs = (CudaGraphRunner(self.preprocess, self.device),
                            CudaGraphRunner(self._compute_views, self.device))
            self._preprocess, self._views = self._graphs

    @property
    def graphed_stages(self) -> int:
        """How many pre/postprocessing CUDA graphs are captured (0 when not graphed)."""
        return sum(len(runner) for runner in self._graphs)

    @property
    def metric(self) -> bool:
        return is_metric_metadata(self.backend.model_metadata)

    @property
    def asynchronous(self) -> bool:
        """Whether ``launch_batch`` returns before the work is done (on CUDA)."""
        return self._transfers.asynchronous

    @property
    def pipelined(self) -> bool:
        """Whether a caller gains by launching the next batch before collecting this one."""
        return self.asynchronous and not self.backend.blocking

    def set_colormap(self, name: str):
        lut = colormap_lut(name, self.device)
        if self._lut is None:
            self._lut = lut
        else:
            # In place: captured postprocessing graphs read this very tensor.
            self._lut.copy_(lut)

    def check_frame_size(self, height: int, width: int):
        """Raise UnsupportedFrameSize unless the backend takes frames of this size."""
        if (height, width) in self._accepted_sizes:
            return
        self.backend.check_frame_size(height, width, self.input_size)
        if len(self._accepted_sizes) >= MAX_REMEMBERED_SIZES:
            self._accepted_sizes.clear()
        self._accepted_sizes.add((height, width))

    def network_size(self, height: int, width: int):
        return self.preprocess.network_size(height, width)

    def warmup(self, height: int, width: int, batch: int = 1, iterations: int = 2):
        frame = np.zeros((height, width, 3), dtype=np.uint8)
        for _ in range(iterations):
            self.estimate_batch([frame] * batch)

    def estimate(self, frame: np.ndarray, colorized: bool = False,
                 outputs: Optional[Outputs] = None, bgr: bool = False) -> DepthResult:
        """Depth for one uint8 frame ``[H, W, 3]``, RGB (or BGR if ``bgr``)."""
        return self.estimate_batch([frame], colorized, outputs, bgr)[0]

    def estimate_batch(self, frames: Sequence[np.ndarray], colorized: bool = False,
                       outputs: Optional[Outputs] = None,
                       bgr: bool = False) -> List[DepthResult]:
        """Depth for frames of one size and channel order, in one backend call."""
        return self.launch_batch(frames, outputs or Outputs(colorized=colorized), bgr).collect()

    @torch.inference_mode()
    def launch_batch(self, frames: Sequence[np.ndarray], outputs: Outputs,
                     bgr: bool = False) -> 'PendingDepth':
        """Enqueue ``estimate_batch``'s work; the device may still run it on return."""
        height, width = frames[0].shape[:2]
        if any(f.shape != frames[0].shape for f in frames):
            raise ValueError('frames in one batch must have the same shape')
        self.check_frame_size(height, width)
        if (outputs.depth_mm or outputs.intrinsics) and not self.metric:
            raise ValueError('millimetres and point clouds need a metric depth model')
        with on_device(self.device):
            return self._launch(frames, outputs, bgr, height, width)

    def _launch(self, frames, outputs: Outputs, bgr: bool, height: int,
                width: int) -> 'PendingDepth':
        in_flight = self._transfers.begin()
        clock = StageClock(self.device)
        clock.mark('start')
        batch = self._transfers.upload(frames, in_flight)
        pixel_values = self._preprocess(batch, bgr=bgr)
        clock.mark('preprocess')
        predicted = self.backend.infer(pixel_values)
        clock.mark('infer')
        views = self._views(predicted, batch, height=height, width=width, outputs=outputs,
                            bgr=bgr)
        arrays = {name: self._transfers.download(name, view, in_flight)
                  for name, view in views.items()}
        clock.mark('postprocess')
        in_flight.launched()
        return PendingDepth(arrays, clock, len(frames), self.metric, in_flight)

    def _compute_views(self, predicted: torch.Tensor, frames: torch.Tensor, height: int,
                       width: int, outputs: Outputs, bgr: bool) -> Dict[str, torch.Tensor]:
        """Return every requested view of the network output, on the device."""
        depth = resize_depth(predicted, height, width)
        if self.metric:
            depth = mark_invalid(depth)
        views = {'depth': depth}
        if outputs.colorized:
            views['colorized'] = torch.stack([colorize(d, self._lut, inverse=not self.metric)
                                              for d in depth])
        if outputs.depth_mm:
            views['depth_mm'] = to_millimetres(depth)
        if outputs.intrinsics:
            points = torch.stack([back_project(d, outputs.intrinsics) for d in depth])
            colours = frames.flip(-1) if bgr else frames
            views['points'] = pack_rgb(points, colours) if outputs.points_rgb else points
        return views

    def close(self):
        # Waits for work still in flight, which reads these buffers and the backend's.
        self._transfers.clear()
        for runner in self._graphs:
            runner.clear()
        self.backend.close()


class PendingDepth:
    """A launched batch; ``collect`` waits for the device and returns its results, once."""

    def __init__(self, arrays: Dict[str, np.ndarray], clock: StageClock, count: int,
                 metric: bool, in_flight: InFlight):
        self._arrays = arrays
        self._clock = clock
        self._count = count
        self._metric = metric
        self._in_flight = in_flight

    def collect(self) -> List[DepthResult]:
        self._in_flight.wait()
        timings = self._clock.durations_ms()
        results = [DepthResult(metric=self._metric, timings_ms=dict(timings),
                               **{name: array[i].copy() for name, array in self._arrays.items()})
                   for i in range(self._count)]
        # Copied out: the pinned buffers may take the next batch.
        self._in_flight.release()
        return results
