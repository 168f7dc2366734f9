"""
PyTorch backends: any module on a device, and the transformers depth model made fast.

On CUDA the whole forward pass replays as a CUDA graph, in fp16 if asked.
The depth model adds SDPA attention in the Dinov2 backbone and the
position-embedding interpolation computed once per input size instead of
per frame. With ``torch_compile`` the model is compiled by Inductor before
it is graphed: fewer, fused kernels. Measured on an H200 (benchmarks/
compiled_model.py, 2026-11-30, DA-V2-S fp16 at 518x686): 1.98 -> 1.36 ms at
batch 1, 5.02 -> 4.02 ms at batch 4, ~24 s of compiling per input shape.
"""
from abc import abstractmethod
from collections import OrderedDict
from functools import wraps
import importlib.util

import torch

from depth_trt_ros.inference.backends.base import (Backend, BackendInfo, CudaGraphRunner,
                                                   parse_device)
from depth_trt_ros.inference.model import depth_metadata, load_depth_model

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
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            return original(tokens, height, width)
        key = (height, width, tokens.dtype, tokens.device)
        if torch.compiler.is_compiling():
            # Read, never filled, while compiling: a size computed eagerly first becomes
            # a constant of the compiled model.
            return cache[key] if key in cache else original(tokens, height, width)
        if key in cache:
            cache.move_to_end(key)
        else:
            cache[key] = original(tokens, height, width).detach()
            if len(cache) > MAX_CACHED_SIZES:
                cache.popitem(last=False)
        return cache[key]

    embeddings.interpolate_pos_encoding = cached
    return cache


class TorchModuleBackend(Backend):
    """
    A torch module on a device, one tensor in and one out: eager on CPU, graphed on CUDA.

    Subclasses load ``self.model`` and say in ``_forward`` how to call it;
    the depth model and TorchScript exports (YOLO) share this class.
    """

    name = 'torch'

    def __init__(self, device: str, precision: str, cuda_graph: bool):
        device = parse_device(device)
        if device.type == 'cpu' and precision == 'fp16':
            raise ValueError('precision fp16 needs a CUDA device: set precision to fp32 '
                             'or device to cuda')
        super().__init__(device, precision)
        self.model = None
        self._graphs = (CudaGraphRunner(self._forward, device, keep_alive=self._read_by_graphs)
                        if cuda_graph and device.type == 'cuda' else None)

    def _read_by_graphs(self) -> object:
        """Return what a captured forward pass reads besides its input (nothing here)."""

    @abstractmethod
    def _forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Run the model on a batch already on the device, in ``input_dtype``."""

    @torch.inference_mode()
    def infer(self, inputs: torch.Tensor) -> torch.Tensor:
        inputs = inputs.to(self.device, self.input_dtype)
        if self._graphs is not None:
            return self._graphs(inputs)
        return self._forward(inputs)

    def _info(self, model: str, **detail: str) -> BackendInfo:
        detail = {'cuda_graph': str(self._graphs is not None), **detail}
        return BackendInfo(self.name, model, str(self.device), self.precision, detail)

    def close(self):
        if self._graphs is not None:
            self._graphs.clear()
        self.model = None


def check_torch_compile(device: torch.device):
    """Refuse ``torch_compile`` where Inductor cannot make CUDA kernels, saying what to do."""
    if device.type != 'cuda':
        raise ValueError(f'torch_compile needs a CUDA device (device is {device}): set '
                         'torch_compile to false')
    if importlib.util.find_spec('triton') is None:
        raise ValueError('torch_compile needs Triton, which this torch installation lacks: '
                         'install the triton release of your torch, or set torch_compile '
                         'to false')


class TorchBackend(TorchModuleBackend):
    """``DepthAnythingForDepthEstimation`` under torch: SDPA attention, cached embeddings."""

    def __init__(self, model, device: str = 'cpu', precision: str = 'fp32',
                 cuda_graph: bool = True, torch_compile: bool = False):
        super().__init__(device, precision, cuda_graph)
        if torch_compile:
            check_torch_compile(self.device)
        if isinstance(model, str):
            model = load_depth_model(model)
        try:
            model.backbone.set_attn_implementation('sdpa')
        except (AttributeError, ValueError):
            model.backbone.config._attn_implementation = 'sdpa'
        self.model = model.to(device=self.device, dtype=self.input_dtype).eval()
        self.model_metadata = depth_metadata(model)
        self._position_cache = cache_position_embeddings(self.model)
        # Static shapes: a new frame size or batch compiles once (~24 s on an H200).
        self._compiled = torch.compile(self._eager, dynamic=False) if torch_compile else None

    def _read_by_graphs(self) -> object:
        # The cache may drop a size whose graph still replays: the graph keeps its tensors.
        return list(self._position_cache.values())

    def _eager(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixel_values).predicted_depth

    def _forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        if self._compiled is None:
            return self._eager(pixel_values)
        height, width = pixel_values.shape[-2:]
        if (height, width, pixel_values.dtype, pixel_values.device) not in \
                self._position_cache:
            self._eager(pixel_values)  # fills the cache that the compiled model reads
        return self._compiled(pixel_values)

    def info(self) -> BackendInfo:
        return self._info(self.model.name_or_path, attention='sdpa',
                          torch_compile=str(self._compiled is not None))

    def close(self):
        self._position_cache.clear()
        super().close()
