"""
The baseline users start from: the seed's transformers code, one frame at a time.

``AutoImageProcessor.from_pretrained(name)`` and
``AutoModelForDepthEstimation.from_pretrained(name)`` with their defaults, as the
seed project calls them: with transformers 5 the processor resolves to
``DPTImageProcessor`` (the torchvision backend) where torchvision is installed and
to ``DPTImageProcessorPil`` where it is not; the model keeps its default attention
(SDPA in the Dinov2 backbone) and fp32. The hub is not needed: the checkpoint is
written to a temporary folder with ``save_pretrained`` and the hub's
``preprocessor_config.json``, so the Auto classes resolve exactly as for a hub
model. Every report divides its throughput by this one's; the report names the
processor class and the attention implementations actually used.

``variants`` are extra rows, never the divisor: ``pil-eager`` is the baseline this
project used before issue 17 (PIL processor, eager attention forced).
"""
from contextlib import contextmanager
import json
from pathlib import Path
import tempfile
import time
from typing import Dict, List, Sequence

import numpy as np
import torch

from depth_trt_ros.inference.backends.base import parse_device, resolve_device
from depth_trt_ros.inference.model import load_depth_model
from depth_trt_ros.inference.preprocess import DEFAULT_INPUT_SIZE, IMAGENET_MEAN, IMAGENET_STD, \
    PATCH_MULTIPLE
from depth_trt_ros.tools.bench.stats import percentiles

BICUBIC = 3
PROCESSOR_FILE = 'preprocessor_config.json'
VARIANTS = ('pil-eager',)


def hub_processor_config(input_size: int = DEFAULT_INPUT_SIZE) -> Dict[str, object]:
    """Depth-Anything-V2-Small-hf's preprocessor_config.json, at ``input_size``."""
    return {'image_processor_type': 'DPTImageProcessor', 'do_resize': True,
            'size': {'height': input_size, 'width': input_size}, 'keep_aspect_ratio': True,
            'ensure_multiple_of': PATCH_MULTIPLE, 'resample': BICUBIC, 'do_rescale': True,
            'rescale_factor': 1 / 255, 'do_normalize': True, 'image_mean': list(IMAGENET_MEAN),
            'image_std': list(IMAGENET_STD), 'do_pad': False, 'size_divisor': None}


@contextmanager
def seed_checkpoint(reference: str, input_size: int = DEFAULT_INPUT_SIZE):
    """
    Yield a folder that ``from_pretrained`` reads like the hub checkpoint of ``reference``.

    A saved checkpoint with its own processor config is used as it is; otherwise
    (``random:*``, a folder without one) the model is saved to a temporary folder
    beside the hub's processor config.
    """
    if (Path(reference) / PROCESSOR_FILE).is_file():
        yield reference
        return
    with tempfile.TemporaryDirectory(prefix='depth-bench-seed-') as folder:
        load_depth_model(reference).save_pretrained(folder)
        (Path(folder) / PROCESSOR_FILE).write_text(json.dumps(hub_processor_config(input_size)))
        yield folder


def seed_recipe(folder: str, device: torch.device):
    """Make the seed's two calls with their defaults; move the model to ``device``, fp32."""
    from transformers import AutoImageProcessor, AutoModelForDepthEstimation

    processor = AutoImageProcessor.from_pretrained(folder)
    model = AutoModelForDepthEstimation.from_pretrained(folder)
    return processor, model.to(device).eval()


def pil_eager_recipe(folder: str, device: torch.device):
    """Build this project's baseline before issue 17: PIL processor, eager attention forced."""
    try:
        from transformers import DPTImageProcessorPil as processor_class
    except ImportError:  # transformers before 5: the slow processor is the PIL one
        from transformers import DPTImageProcessor as processor_class
    from transformers import AutoModelForDepthEstimation

    config = json.loads((Path(folder) / PROCESSOR_FILE).read_text())
    config.pop('image_processor_type', None)
    processor = processor_class(**config)
    model = AutoModelForDepthEstimation.from_pretrained(folder)
    model.set_attn_implementation('eager')
    return processor, model.to(device=device, dtype=torch.float32).eval()


RECIPES = {'seed': seed_recipe, 'pil-eager': pil_eager_recipe}


def attention_implementations(model) -> Dict[str, str]:
    """Name the attention implementation of the model and of its backbone, as configured."""
    found = {'model': model.config._attn_implementation}
    backbone = getattr(model, 'backbone', None)
    if backbone is not None:
        found['backbone'] = backbone.config._attn_implementation
    return found


def _synchronize(device: torch.device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


class DepthRecipe:
    """One recipe's processor and model; ``__call__`` runs one frame and returns stage times."""

    def __init__(self, recipe: str, folder: str, device: torch.device):
        self.device = device
        self.processor, self.model = RECIPES[recipe](folder, device)
        self.description = {
            'recipe': recipe, 'processor_class': type(self.processor).__name__,
            'model_class': type(self.model).__name__, 'dtype': str(self.model.dtype),
            'attention': attention_implementations(self.model)}

    def __call__(self, frame: np.ndarray):
        """Return the frame's depth on the host and the stage times in ms."""
        started = time.perf_counter()
        inputs = self.processor(images=frame, return_tensors='pt')
        pixel_values = inputs['pixel_values'].to(self.device)
        preprocessed = time.perf_counter()
        with torch.no_grad():
            outputs = self.model(pixel_values=pixel_values)
        # The stage split needs a sync; the recipe syncs anyway when it copies the result.
        _synchronize(self.device)
        inferred = time.perf_counter()
        post = self.processor.post_process_depth_estimation(outputs,
                                                            target_sizes=[frame.shape[:2]])
        depth = post[0]['predicted_depth'].cpu().numpy()
        finished = time.perf_counter()
        return depth, {'preprocess': (preprocessed - started) * 1e3,
                       'infer': (inferred - preprocessed) * 1e3,
                       'postprocess': (finished - inferred) * 1e3}

    def close(self):
        del self.model
        if self.device.type == 'cuda':
            torch.cuda.empty_cache()


def time_frames(step, frames: List[np.ndarray], iterations: int, warmup: int
                ) -> Dict[str, object]:
    """Run ``step(frame) -> stage times`` on the frames in turn; percentiles and frames/s."""
    stages: Dict[str, List[float]] = {}
    totals = []
    for index in range(warmup + iterations):
        started = time.perf_counter()
        timings = step(frames[index % len(frames)])
        finished = time.perf_counter()
        if index >= warmup:
            for stage, value in timings.items():
                stages.setdefault(stage, []).append(value)
            totals.append(finished - started)
    return {'size': f'{frames[0].shape[1]}x{frames[0].shape[0]}', 'iterations': iterations,
            'stages_ms': {name: percentiles(values) for name, values in stages.items()},
            'latency_ms': percentiles([t * 1e3 for t in totals]),
            'throughput_fps': len(totals) / sum(totals)}


def _measure_recipe(recipe: str, folder: str, device: torch.device, frames, iterations: int,
                    warmup: int) -> Dict[str, object]:
    depth = DepthRecipe(recipe, folder, device)
    try:
        results = time_frames(lambda frame: depth(frame)[1], frames, iterations, warmup)
    finally:
        depth.close()
    return dict(depth.description, device=str(device), **results)


def measure_baseline(frames: List[np.ndarray], reference: str, device: str,
                     iterations: int, warmup: int, input_size: int = DEFAULT_INPUT_SIZE,
                     variants: Sequence[str] = ()) -> Dict[str, object]:
    """Per-stage times and frames per second of the seed's recipe, and of ``variants``."""
    device = parse_device(resolve_device(device))
    with seed_checkpoint(reference, input_size) as folder:
        results = _measure_recipe('seed', folder, device, frames, iterations, warmup)
        results['variants'] = {name: _measure_recipe(name, folder, device, frames, iterations,
                                                     warmup) for name in variants}
    for variant in results['variants'].values():
        variant['seed_speedup'] = results['throughput_fps'] / variant['throughput_fps']
    return results
