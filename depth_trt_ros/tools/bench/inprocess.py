"""``model`` and ``pipeline`` modes: the estimator (and the conversions) in this process."""
import time
from typing import Dict, List

import numpy as np
import torch

from depth_trt_ros.inference.backends import build_backend
from depth_trt_ros.inference.estimator import DepthEstimator
from depth_trt_ros.inference.transfer import StageClock
from depth_trt_ros.tools.bench.stats import percentiles


def build(args) -> DepthEstimator:
    """Build the estimator the node would build from these settings, without warm-up."""
    backend = build_backend(args.backend, args.model, args.device, args.precision,
                            args.cuda_graph, args.torch_compile)
    return DepthEstimator(backend, args.input_size, cuda_graph=args.cuda_graph)


class Run:
    """Collects per-stage times and the wall time of a measured loop on one device."""

    def __init__(self, device: torch.device):
        self.device = device
        self.stages: Dict[str, List[float]] = {}
        self.latencies_ms: List[float] = []
        self.wall_s = float('nan')
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        self._started = time.perf_counter()

    def stop(self):
        """End the measured loop once the device has finished its work."""
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
        self.wall_s = time.perf_counter() - self._started

    def add(self, timings_ms: Dict[str, float]):
        for stage, value in timings_ms.items():
            self.stages.setdefault(stage, []).append(value)

    def results(self, frames: int) -> Dict[str, object]:
        latency = self.latencies_ms or [sum(values) for values in zip(*self.stages.values())]
        cuda = self.device.type == 'cuda'
        return {'stages_ms': {name: percentiles(values) for name, values in self.stages.items()},
                'latency_ms': percentiles(latency), 'throughput_fps': frames / self.wall_s,
                'wall_s': self.wall_s,
                'gpu_memory_peak_mib': (torch.cuda.max_memory_allocated(self.device) / 2**20
                                        if cuda else None)}


def run_model(args, frames: List[np.ndarray]) -> Dict[str, object]:
    """Backend alone (``--stages infer``) or preprocess+infer+postprocess (``all``)."""
    estimator = build(args)
    batch = [frames[i % len(frames)] for i in range(args.batch)]
    if args.stages == 'infer':
        uploaded = torch.from_numpy(np.stack(batch)).to(estimator.device)
        with torch.inference_mode():
            step = _infer_step(estimator, estimator.preprocess(uploaded))
    else:
        def step():
            return estimator.estimate_batch(batch)[0].timings_ms
    for _ in range(args.warmup):
        step()
    run = Run(estimator.device)
    pending = [step() for _ in range(args.iterations)]
    run.stop()
    # CUDA-event clocks can be read only once the work has finished.
    for timings in pending:
        run.add(timings() if callable(timings) else timings)
    estimator.close()
    return run.results(args.iterations * args.batch)


def _infer_step(estimator: DepthEstimator, pixel_values: torch.Tensor):
    """One backend call timed with events; returns a reader of the time (no sync here)."""
    def step():
        clock = StageClock(estimator.device)
        clock.mark('start')
        with torch.inference_mode():
            estimator.backend.infer(pixel_values)
        clock.mark('infer')
        return clock.durations_ms
    return step


def run_pipeline(args, frames: List[np.ndarray]) -> Dict[str, object]:
    """Time serialized Image -> pixels -> depth -> serialized 32FC1 Image, as the node does."""
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import Image

    from depth_trt_ros.ros.conversions import fill_image, message_to_pixels
    from depth_trt_ros.ros.image_cdr import decode_image, serialize_image

    estimator = build(args)
    messages = []
    for frame in frames:
        msg = fill_image(Image(), np.ascontiguousarray(frame[..., ::-1]), 'bgr8')
        msg.header.frame_id = 'camera'
        messages.append(serialize_message(msg))

    def step(index: int) -> Dict[str, float]:
        started = time.perf_counter()
        msg = decode_image(messages[index % len(messages)], Image)
        pixels = message_to_pixels(msg)
        converted = time.perf_counter()
        result = estimator.estimate(pixels.array, bgr=pixels.bgr)
        estimated = time.perf_counter()
        serialize_image(result.depth, '32FC1', msg.header)
        finished = time.perf_counter()
        return dict({'convert': (converted - started) * 1e3}, **result.timings_ms,
                    serialize=(finished - estimated) * 1e3, total=(finished - started) * 1e3)

    for index in range(args.warmup):
        step(index)
    run = Run(estimator.device)
    for index in range(args.iterations):
        timings = step(index)
        run.latencies_ms.append(timings.pop('total'))
        run.add(timings)
    run.stop()
    estimator.close()
    return run.results(args.iterations)
