"""
The one seam between the depth estimator and an inference runtime.

A backend takes a normalized ``pixel_values`` batch on its device and returns
``predicted_depth`` ``[B, h, w]`` on the same device. Everything that is not a
runtime call (device parsing, buffer reuse, CUDA-graph capture) lives here so
that every backend shares it and CI exercises it without a GPU.
"""
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
import json
from typing import Callable, Dict, Optional, Tuple

import torch

PRECISIONS = ('fp16', 'fp32')
INPUT_NAME = 'pixel_values'
OUTPUT_NAME = 'predicted_depth'


class ModelLoadError(RuntimeError):
    """A model or engine file cannot be used; the message says what to fix."""


class UnsupportedFrameSize(ModelLoadError):
    """Frames of this size are outside what the model was built for (an engine's profile)."""


def parse_device(device: str) -> torch.device:
    """Turn ``cuda``, ``cuda:1`` or ``cpu`` into a device, refusing what cannot run."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device '{device}' is not a torch device: use 'cpu' or 'cuda[:N]'"
                         ) from error
    if parsed.type == 'cuda':
        if not torch.cuda.is_available():
            raise ValueError(f"device '{device}' requested but CUDA is not available: "
                             "set device to 'cpu' or install a CUDA build of torch")
        index = parsed.index or 0
        if index >= torch.cuda.device_count():
            raise ValueError(f"device '{device}' does not exist: "
                             f'{torch.cuda.device_count()} CUDA device(s) visible')
        return torch.device('cuda', index)
    if parsed.type != 'cpu':
        raise ValueError(f"device '{device}' is not supported: use 'cpu' or 'cuda[:N]'")
    return parsed


def resolve_device(device: str) -> str:
    """``auto`` means the first CUDA device where there is one, else the CPU."""
    if device == 'auto':
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    return device


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` means fp16 on CUDA and fp32 on the CPU (which has no fast fp16)."""
    if precision == 'auto':
        return 'fp16' if device.startswith('cuda') else 'fp32'
    return precision


def parse_metadata_json(raw: bytes, source: str) -> Dict[str, str]:
    """
    Ultralytics' JSON metadata -> ``{key: text}``, non-strings as JSON text.

    Values stay text, like ONNX metadata_props, so that one parser (class
    names, ``imgsz``) reads the metadata of every format. ``source`` names
    the file for the error.
    """
    try:
        metadata = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelLoadError(f'{source} is not JSON ({error}): re-export the model') from error
    if not isinstance(metadata, dict):
        raise ModelLoadError(f'{source} holds {type(metadata).__name__}, not a JSON object: '
                             're-export the model')
    return {str(key): value if isinstance(value, str) else json.dumps(value)
            for key, value in metadata.items()}


def torch_dtype(precision: str) -> torch.dtype:
    if precision not in PRECISIONS:
        raise ValueError(f"precision '{precision}' is not one of {PRECISIONS}")
    return torch.float16 if precision == 'fp16' else torch.float32


class TensorBuffers:
    """
    Named, preallocated tensors that are reallocated only when a shape changes.

    The ONNX Runtime and TensorRT backends bind these addresses to the runtime,
    so a steady stream of equal-sized frames allocates nothing.
    """

    def __init__(self, device: torch.device, pin_memory: bool = False):
        self.device = device
        self.pin_memory = pin_memory
        self._tensors: Dict[str, torch.Tensor] = {}
        self.reallocations = 0

    def get(self, name: str, shape: Tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        tensor = self._tensors.get(name)
        if tensor is None or tuple(tensor.shape) != tuple(shape) or tensor.dtype != dtype:
            tensor = torch.empty(shape, dtype=dtype, device=self.device,
                                 pin_memory=self.pin_memory)
            self._tensors[name] = tensor
            self.reallocations += 1
        return tensor

    def clear(self):
        self._tensors.clear()


class CudaGraphRunner:
    """
    Replays ``fn`` as a CUDA graph per input shape and options; launches cost ~nothing.

    ``fn(*tensors, **options)`` returns a tensor (or a dict of them). The graph
    is captured on the first call with new shapes or options (after a warm-up
    run on a side stream, as CUDA requires) and replayed afterwards: inputs are
    copied into the graph's own tensors, and the returned outputs are the
    graph's, valid until the next call. Options are baked into the capture
    (Python values become kernel arguments), so they are part of the key. At
    most ``max_graphs`` stay captured, the least recently used going first.
    A graph reads tensors by address: ``keep_alive()``, called after each
    capture, returns what ``fn`` reads besides its inputs (a cache of its own),
    and the graph holds on to it so that none is freed while the graph lives.
    """

    def __init__(self, fn: Callable[..., object], device: torch.device, max_graphs: int = 8,
                 keep_alive: Callable[[], object] = lambda: None):
        self._fn = fn
        self._device = device
        self._max_graphs = max_graphs
        self._keep_alive = keep_alive
        self._graphs: Dict[Tuple, Tuple[torch.cuda.CUDAGraph, Tuple[torch.Tensor, ...],
                                        object, object]] = {}

    def __call__(self, *tensors: torch.Tensor, **options):
        key = (tuple((t.shape, t.dtype) for t in tensors), tuple(sorted(options.items())))
        entry = self._graphs.pop(key, None)
        if entry is None:
            entry = self._capture(tensors, options)
            while len(self._graphs) >= self._max_graphs:
                del self._graphs[next(iter(self._graphs))]
        self._graphs[key] = entry
        graph, static_inputs, static_output, _ = entry
        for static, tensor in zip(static_inputs, tensors):
            static.copy_(tensor)
        graph.replay()
        return static_output

    def _capture(self, tensors, options):
        static_inputs = tuple(t.clone() for t in tensors)
        side = torch.cuda.Stream(self._device)
        side.wait_stream(torch.cuda.current_stream(self._device))
        with torch.cuda.stream(side):
            for _ in range(2):
                self._fn(*static_inputs, **options)
        torch.cuda.current_stream(self._device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # thread_local: a model being loaded (and captured) on another thread must not
        # make the serving thread's CUDA calls illegal meanwhile, nor be broken by them.
        with torch.cuda.graph(graph, capture_error_mode='thread_local'):
            static_output = self._fn(*static_inputs, **options)
        return graph, static_inputs, static_output, self._keep_alive()

    def __len__(self) -> int:
        return len(self._graphs)

    def clear(self):
        self._graphs.clear()


@dataclass
class BackendInfo:
    """What diagnostics and reports say about a backend."""

    backend: str
    model: str
    device: str
    precision: str
    detail: Dict[str, str] = field(default_factory=dict)


class Backend(ABC):
    """Runs Depth-Anything on a device: ``pixel_values`` in, ``predicted_depth`` out."""

    name = 'base'
    # Whether ``infer`` returns only once the device has finished (ONNX Runtime's
    # run_with_iobinding): overlapping frames then only adds a frame of latency.
    blocking = False

    def __init__(self, device: torch.device, precision: str):
        self.device = device
        self.precision = precision
        self.input_dtype = torch_dtype(precision)
        # Key/value metadata stored with the model (ONNX metadata_props, ultralytics'
        # JSON in TorchScript and engines, an engine sidecar's depth facts): class
        # names, depth type. The depth and detection code read their own keys.
        self.model_metadata: Dict[str, str] = {}
        # (height, width) of an engine built for one input size only: the
        # preprocessing resizes every frame to it.
        self.fixed_input_size: Optional[Tuple[int, int]] = None
        # Most frames one call takes (an engine's profile), None where unbounded.
        self.max_batch: Optional[int] = None
        # A frame size the backend is sure to accept, for warm-up: VGA unless a
        # fixed profile says otherwise.
        self.warmup_frame_size: Tuple[int, int] = (480, 640)

    @abstractmethod
    def infer(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Return ``[B, h, w]`` depth for ``[B, 3, H, W]``; valid until the next call."""

    @abstractmethod
    def info(self) -> BackendInfo:
        """Describe the backend for logs and diagnostics."""

    def check_frame_size(self, height: int, width: int, input_size: int, batch: int = 1):
        """
        Raise UnsupportedFrameSize for camera frames this backend cannot take.

        ``input_size`` is the node's resize rule; most backends take any size,
        an engine only what its profile covers.
        """

    def close(self):
        """Release runtime resources; the default has none to release."""
