"""
The baseline users start from: transformers on its own, one frame at a time.

``DPTImageProcessor`` as Depth-Anything-V2 ships it (the PIL implementation
where torchvision is missing) on the CPU, then ``DepthAnythingForDepthEstimation``
eager fp32 on the device, then the processor's post-processing back to the
frame size. Every report divides its throughput by this one's.
"""
import time
from typing import Dict, List

import numpy as np
import torch

from depth_trt_ros.inference.backends.base import parse_device, resolve_device
from depth_trt_ros.inference.model import load_depth_model
from depth_trt_ros.inference.preprocess import DEFAULT_INPUT_SIZE, IMAGENET_MEAN, IMAGENET_STD, \
    PATCH_MULTIPLE
from depth_trt_ros.tools.bench.stats import percentiles

BICUBIC = 3


def reference_processor(input_size: int = DEFAULT_INPUT_SIZE):
    """Build the processor of Depth-Anything-V2-Small-hf's preprocessor_config.json."""
    try:
        from transformers import DPTImageProcessorPil as processor_class
    except ImportError:  # transformers before 5: the slow processor is the PIL one
        from transformers import DPTImageProcessor as processor_class
    return processor_class(
        do_resize=True, size={'height': input_size, 'width': input_size},
        keep_aspect_ratio=True, ensure_multiple_of=PATCH_MULTIPLE, resample=BICUBIC,
        do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
        image_mean=list(IMAGENET_MEAN), image_std=list(IMAGENET_STD), do_pad=False)


def eager_model(reference: str, device: torch.device):
    model = load_depth_model(reference)
    model.set_attn_implementation('eager')
    return model.to(device=device, dtype=torch.float32).eval()


def _synchronize(device: torch.device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def measure_baseline(frames: List[np.ndarray], reference: str, device: str,
                     iterations: int, warmup: int, input_size: int = DEFAULT_INPUT_SIZE
                     ) -> Dict[str, object]:
    """Per-stage times and frames per second of the plain transformers recipe."""
    device = parse_device(resolve_device(device))
    processor = reference_processor(input_size)
    model = eager_model(reference, device)
    stages = {'preprocess': [], 'infer': [], 'postprocess': []}
    totals = []
    for index in range(warmup + iterations):
        frame = frames[index % len(frames)]
        started = time.perf_counter()
        inputs = processor(images=frame, return_tensors='pt')
        pixel_values = inputs['pixel_values'].to(device)
        preprocessed = time.perf_counter()
        with torch.no_grad():
            outputs = model(pixel_values=pixel_values)
        # The stage split needs a sync; the recipe syncs anyway when it copies the result.
        _synchronize(device)
        inferred = time.perf_counter()
        post = processor.post_process_depth_estimation(outputs, target_sizes=[frame.shape[:2]])
        post[0]['predicted_depth'].cpu().numpy()
        finished = time.perf_counter()
        if index >= warmup:
            stages['preprocess'].append((preprocessed - started) * 1e3)
            stages['infer'].append((inferred - preprocessed) * 1e3)
            stages['postprocess'].append((finished - inferred) * 1e3)
            totals.append(finished - started)
    del model
    if device.type == 'cuda':
        torch.cuda.empty_cache()
    return {'recipe': 'transformers DPTImageProcessor (PIL, CPU) + '
                      'DepthAnythingForDepthEstimation eager fp32, one frame at a time',
            'device': str(device), 'size': f'{frames[0].shape[1]}x{frames[0].shape[0]}',
            'iterations': iterations,
            'stages_ms': {name: percentiles(values) for name, values in stages.items()},
            'latency_ms': percentiles([t * 1e3 for t in totals]),
            'throughput_fps': len(totals) / sum(totals)}
