"""
Would torch.compile make the depth model faster under a CUDA graph? A measurement, not a feature.

DA-V2-S at 518x686 in fp16 does ~0.2 TFLOP a frame, ~0.3 ms of an H200's matrix
rate, yet replays in ~2 ms as a CUDA graph of several hundred small kernels. Inductor
fuses the element-wise work (layer norms, GELU, residual adds) into fewer kernels.
This times the project's graph (torch backend) against the same model compiled by
Inductor and then graphed the same way, batch 1 and 4, and checks both agree.

    python benchmarks/compiled_model.py OUT.json

Random weights (random:small = DA-V2-S): timings valid, depth values not.
"""
import argparse
import json
import time

import torch

from depth_trt_ros.inference.backends import build_backend
from depth_trt_ros.inference.backends.base import CudaGraphRunner

SHAPE = (3, 518, 686)


def gpu_ms(run, inputs, iterations: int = 200) -> float:
    """Return the mean GPU time per call over ``iterations`` back-to-back calls."""
    for _ in range(10):
        run(inputs)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iterations):
        run(inputs)
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / iterations


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('output')
    args = parser.parse_args()
    backend = build_backend('torch', 'random:small', 'cuda', 'fp16', True)
    compiled = torch.compile(backend._forward)
    graphed_compiled = CudaGraphRunner(compiled, backend.device)
    embeddings = backend.model.backbone.embeddings
    cache = backend._position_cache
    report = {'torch': torch.__version__, 'gpu': torch.cuda.get_device_name(0),
              'date': time.strftime('%Y-%m-%dT%H:%M:%S%z'), 'rows': []}
    for batch in (1, 4):
        pixels = torch.randn(batch, *SHAPE, device='cuda', dtype=torch.float16)
        with torch.inference_mode():
            reference = backend.infer(pixels).float().clone()
            # The backend's per-size cache bypasses itself while compiling; hand the
            # compiled model the cached embeddings, as the graph replays them.
            embeddings.interpolate_pos_encoding = \
                lambda tokens, height, width: cache[(height, width, tokens.dtype, tokens.device)]
            started = time.perf_counter()
            result = graphed_compiled(pixels).float()
            compile_s = time.perf_counter() - started
            error = float((result - reference).norm() / reference.norm())
            row = {'batch': batch, 'graph_ms': gpu_ms(backend.infer, pixels),
                   'compiled_graph_ms': gpu_ms(graphed_compiled, pixels),
                   'compile_and_capture_s': compile_s, 'relative_error': error}
        report['rows'].append(row)
        speedup = row['graph_ms'] / row['compiled_graph_ms']
        print(f"batch {batch}: graph {row['graph_ms']:.3f} ms, compiled + graph "
              f"{row['compiled_graph_ms']:.3f} ms ({speedup:.2f}x), compile {compile_s:.0f} s, "
              f'relative error {error:.1e}')
    with open(args.output, 'w') as file:
        json.dump(report, file, indent=1)


if __name__ == '__main__':
    main()
