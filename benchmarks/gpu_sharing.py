"""
How depth and YOLO share one GPU: alone, in two processes at once, in two threads of one.

The chain runs depth_node and detector_node as two processes on one GPU. Without MPS
the GPU time-slices between their CUDA contexts; in one process their kernels can
overlap but their host work shares one interpreter. This measures each loop's frames/s
alone and side by side, plus the YOLO model's own GPU time (CUDA events around a
graph replay), so the chain's rate can be read against them.

    python benchmarks/gpu_sharing.py YOLO.torchscript OUT.json [--seconds 5] [--cpu]

(--cpu: random:tiny in fp32 on the CPU, to check the script.)

Prints a table, writes the numbers as JSON. Random weights (random:small = DA-V2-S).
"""
import argparse
import json
import multiprocessing
import statistics
import threading
import time

import numpy as np
import torch

FRAME_SHAPE = (480, 640, 3)


def _frame() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, FRAME_SHAPE, dtype=np.uint8)


def _depth_step(device):
    from depth_trt_ros.inference.backends import build_backend
    from depth_trt_ros.inference.estimator import DepthEstimator, Outputs

    model, precision, size = (('random:small', 'fp16', 518) if device == 'cuda'
                              else ('random:tiny', 'fp32', 140))
    estimator = DepthEstimator(build_backend('torch', model, device, precision, True), size)
    frame = _frame()
    return lambda: estimator.launch_batch([frame], Outputs(), bgr=True).collect()


def _yolo_step(model: str, device: str):
    from depth_trt_ros.inference.detection.yolo import load_yolo_backend, YoloDetector

    detector = YoloDetector(load_yolo_backend('auto', model, device,
                                              'fp16' if device == 'cuda' else 'fp32'))
    frame = _frame()
    return lambda: detector.detect(frame)


def _loop(name: str, model: str, device: str, seconds: float, barrier, results):
    step = _depth_step(device) if name == 'depth' else _yolo_step(model, device)
    for _ in range(30):
        step()
    barrier.wait()
    times, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    results[name] = {'fps': len(times) / sum(times),
                     'p50_ms': statistics.median(times) * 1e3}


def _processes(names, *setup):
    context = multiprocessing.get_context('spawn')
    return _side_by_side(names, setup, context.Process, context.Barrier(len(names)),
                         context.Manager().dict())


def _threads(names, *setup):
    return _side_by_side(names, setup, threading.Thread, threading.Barrier(len(names)), {})


def _side_by_side(names, setup, worker_type, barrier, results):
    """Run one ``_loop`` per name in ``worker_type`` (process or thread), started together."""
    workers = [worker_type(target=_loop, args=(name, *setup, barrier, results))
               for name in names]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return dict(results)


def _yolo_model_gpu_ms(model: str) -> float:
    """Return the YOLO graph's own GPU time per frame, with nothing else on the device."""
    from depth_trt_ros.inference.detection.yolo import load_yolo_backend

    backend = load_yolo_backend('auto', model, 'cuda', 'fp16')
    pixels = torch.rand(1, 3, 640, 640, device='cuda', dtype=backend.input_dtype)
    for _ in range(20):
        backend.infer(pixels)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(200):
        backend.infer(pixels)
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 200


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('yolo')
    parser.add_argument('output')
    parser.add_argument('--seconds', type=float, default=5.0)
    parser.add_argument('--cpu', action='store_true')
    args = parser.parse_args()
    setup = (args.yolo, 'cpu' if args.cpu else 'cuda', args.seconds)
    runs = {'depth alone': _processes(['depth'], *setup),
            'yolo alone': _processes(['yolo'], *setup),
            'two processes': _processes(['depth', 'yolo'], *setup),
            'two threads, one process': _threads(['depth', 'yolo'], *setup)}
    gpu = None if args.cpu else torch.cuda.get_device_name(0)
    report = {'runs': runs, 'yolo_model_gpu_ms': None if args.cpu else
              _yolo_model_gpu_ms(args.yolo),
              'torch': torch.__version__, 'gpu': gpu, 'date': time.strftime('%Y-%m-%dT%H:%M:%S%z')}
    with open(args.output, 'w') as file:
        json.dump(report, file, indent=1)
    print(f"YOLO graph alone: {report['yolo_model_gpu_ms']} ms GPU per frame")
    for run, loops in runs.items():
        print(f'{run:26s} ' + '  '.join(f"{name} {r['fps']:7.1f}/s (p50 {r['p50_ms']:.2f} ms)"
                                        for name, r in loops.items()))


if __name__ == '__main__':
    main()
