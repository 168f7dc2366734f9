"""
PyTorch backend: the transformers model itself, made fast on CUDA.

On CUDA it runs fp16 (if asked), SDPA attention in the Dinov2 backbone, the
position-embedding interpolation computed once per input size instead of per
frame, and the whole forward pass replayed as a CUDA graph.
"""
from collections import OrderedDict
from functools import wraps

import torch

from depth_trt_ros.inference.backends.base import (Backend, BackendInfo, CudaGraphRunner,
                                                   parse_device)
from depth_trt_ros.inference.model import is_metric, load_depth_model

# Input sizes whose position embeddings stay cached (a few MB each at 518).
MAX_CACHED_SIZES = 8


def cache_position_embeddings(model):
    """
    Memoize Dinov2's bicubic position-embedding resize per (size, dtype).

    It is constant for a given input size but costs more GPU time than the
    transformer at non-square sizes. Tracing (ONNX export) bypasses the cache
    so that exported graphs stay dynamic. A camera whose frame size keeps
    changing would grow it without end, so it keeps the ``MAX_CACHED_SIZES``
    most recently used sizes.
    """
    embeddings = model.backbone.embeddings
    original = embeddings.interpolate_pos_encoding
    cache = OrderedDict()

    @wraps(original)
    def cached(tokens, height, width):
        if (torch.jit.is_tracing() or torch.compiler.is_compiling()
                or torch.onnx.is_in_onnx_export()):
            return original(tokens, height, width)
        key = (height, width, tokens.dtype, tokens.device)
        if key in cache:
            cache.move_to_end(key)
        else:
            cache[key] = original(tokens, height, width).detach()
            if len(cache) > MAX_CACHED_SIZES:
                cache.popitem(last=False)
        return cache[key]

    embeddings.interpolate_pos_encoding = cached
    return cache


class TorchBackend(Backend):
    """``DepthAnythingForDepthEstimation`` under torch, eager on CPU, graphed on CUDA."""

    name = 'torch'

    def __init__(self, model, device: str = 'cpu', precision: str = 'fp32',
                 cuda_graph: bool = True):
        device = parse_device(device)
        if device.type == 'cpu' and precision == 'fp16':
            raise ValueError('precision fp16 needs a CUDA device: set precision to fp32 '
                             'or device to cuda')
        super().__init__(device, precision)
        if isinstance(model, str):
            model = load_depth_model(model)
        try:
            model.backbone.set_attn_implementation('sdpa')
        except (AttributeError, ValueError):
            model.backbone.config._attn_implementation = 'sdpa'
        self.model = model.to(device=device, dtype=self.input_dtype).eval()
        self.metric = is_metric(model)
        self.max_depth = float(model.config.max_depth) if self.metric else None
        self._position_cache = cache_position_embeddings(self.model)
        self._graphs = (CudaGraphRunner(self._forward, device)
                        if cuda_graph and device.type == 'cuda' else None)

    def _forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixel_values).predicted_depth

    @torch.inference_mode()
    def infer(self, pixel_values: torch.Tensor) -> torch.Tensor:
        pixel_values = pixel_values.to(self.device, self.input_dtype)
        if self._graphs is not None:
            return self._graphs(pixel_values)
        return self._forward(pixel_values)

    def info(self) -> BackendInfo:
        detail = {'cuda_graph': str(self._graphs is not None), 'attention': 'sdpa'}
        return BackendInfo(self.name, self.model.name_or_path, str(self.device),
                           self.precision, detail)

    def close(self):
        if self._graphs is not None:
            self._graphs.clear()
        self._position_cache.clear()
        self.model = None
