"""
TensorRT backend: a serialized engine run on torch.cuda buffers.

One execution context; the input and output are preallocated torch.cuda
tensors (reallocated only when the shape changes) bound by address, and the
engine is enqueued on torch's current stream, so it orders with the
preprocessing and postprocessing kernels without any host synchronisation.
The input and output names, dtypes, shapes and profile are read from the
engine, so any one-image-in, one-tensor-out engine runs: this package's
Depth-Anything engines, whose sidecar lets ``engine_meta`` check TensorRT
version, GPU and profile before TensorRT sees the file; ultralytics YOLO
engines (metadata prefix, see ``engine_file``); and engines users built
themselves, loaded with a warning that names the checks it cannot make.
"""
import logging
from pathlib import Path

import torch

from depth_trt_ros.inference import tensorrt_runtime
from depth_trt_ros.inference.backends.base import (Backend, BackendInfo, CudaGraphRunner,
                                                   ModelLoadError, parse_device,
                                                   resolve_precision, TensorBuffers,
                                                   UnsupportedFrameSize)
from depth_trt_ros.inference.engine_file import read_engine_file
from depth_trt_ros.inference.engine_io import deserialize_engine, read_engine_io
from depth_trt_ros.inference.engine_meta import (check_frame_size, check_input_shape,
                                                 check_runtime, EngineMetadata)
from depth_trt_ros.inference.engine_profile import output_shape
from depth_trt_ros.inference.preprocess import network_input_size

_LOG = logging.getLogger(__name__)
# What only a sidecar records, so what an engine without one is loaded unchecked for.
UNCHECKED_WITHOUT_SIDECAR = ('TensorRT version', 'GPU', 'build precision')


def _precision(sidecar, precision: str, model_path: str) -> str:
    """Return the engine's precision: the sidecar's (``auto`` takes it), else as asked."""
    if sidecar is None:
        return resolve_precision(precision, 'cuda')
    if precision == 'auto':  # the build fixed the precision; 'auto' takes the engine's
        return sidecar.precision
    if precision != sidecar.precision:
        raise ModelLoadError(f"engine '{model_path}' is {sidecar.precision}: set "
                             f'precision to {sidecar.precision} (or auto), or rebuild '
                             f'with --precision {precision}')
    return precision


class TensorRTBackend(Backend):
    """Runs a TensorRT engine with one image input and one output on CUDA."""

    name = 'tensorrt'

    def __init__(self, model_path: str, device: str = 'cuda', precision: str = 'fp16',
                 cuda_graph: bool = False):
        device = parse_device(device)
        if device.type != 'cuda':
            raise ValueError("the tensorrt backend runs only on CUDA: set device to 'cuda[:N]',"
                             ' or use backend onnxruntime or torch on the CPU')
        engine_file = read_engine_file(model_path)
        self.metadata: EngineMetadata = engine_file.sidecar
        super().__init__(device, _precision(self.metadata, precision, model_path))
        self.model_path = str(Path(model_path))
        self.origin = engine_file.origin
        self.model_metadata = engine_file.model_metadata
        trt = tensorrt_runtime.require_tensorrt()
        gpu_name = torch.cuda.get_device_name(device)
        if self.metadata is not None:
            major, minor = torch.cuda.get_device_capability(device)
            check_runtime(self.metadata, tensorrt_runtime.MODULE_NAME, tensorrt_runtime.VERSION,
                          gpu_name, f'{major}.{minor}')
        source = f"engine '{model_path}'"
        self._logger = trt.Logger(trt.Logger.WARNING)
        with torch.cuda.device(device):
            self._runtime = trt.Runtime(self._logger)
            self.engine = deserialize_engine(self._runtime, engine_file.plan, source,
                                             self._rebuild_advice())
            self.context = self.engine.create_execution_context()
        self.io = read_engine_io(self.engine, trt.TensorIOMode.INPUT, source)
        self._check_sidecar_names()
        # The FP16 builder flag keeps fp32 I/O, so the engine, not precision, sets the dtypes.
        self.input_dtype = getattr(torch, self.io.input_dtype)
        self._output_dtype = getattr(torch, self.io.output_dtype)
        self.input_shape = self.io.profile.opt_shape
        self.max_batch = self.io.profile.max_shape[0]
        if self.metadata is not None:
            self.model_metadata = {**self.model_metadata, **self.metadata.depth_facts()}
        else:
            # Without a sidecar nothing says how the engine expects frames resized:
            # an engine built for one size gets every frame resized to that size.
            self.fixed_input_size = self.io.fixed_size
            _LOG.warning("engine '%s' (%s) has no sidecar, so its %s cannot be checked "
                         "against this machine's %s %s and GPU '%s' (TensorRT fails to "
                         'deserialize an engine built elsewhere); read from the engine: %s',
                         model_path, self.origin, ', '.join(UNCHECKED_WITHOUT_SIDECAR),
                         tensorrt_runtime.MODULE_NAME, tensorrt_runtime.VERSION, gpu_name,
                         self.io.describe())
        # A frame of exactly the profile's opt size reaches the network unresized.
        self.warmup_frame_size = tuple(self.io.profile.opt_shape[2:])
        self._buffers = TensorBuffers(device)
        self._bound_shape = None
        self._output_shape = None
        self._graphs = CudaGraphRunner(self._execute, device) if cuda_graph else None

    def rebuild_advice(self, max_batch: int) -> str:
        """Say how to get an engine that takes ``max_batch`` frames per call."""
        if self.metadata is not None:
            command = self.metadata.rebuild_command()
            return command.replace(f'--max-batch {self.max_batch}', f'--max-batch {max_batch}')
        return f"export it again with 'depth-trt-ros export ... --max-batch {max_batch}'"

    def _rebuild_advice(self) -> str:
        if self.metadata is not None:
            return f'rebuild it on this machine: {self.metadata.rebuild_command()}'
        return ('rebuild it on this machine with the TensorRT installed here (or export it with '
                "'depth-trt-ros export', which also writes the sidecar that allows checks)")

    def _check_sidecar_names(self):
        if self.metadata is None:
            return
        expected = (self.metadata.input_name, self.metadata.output_name)
        if (self.io.input_name, self.io.output_name) != expected:
            raise ModelLoadError(f"engine '{self.model_path}' has tensors "
                                 f'{self.io.input_name} -> {self.io.output_name}, its sidecar '
                                 f'says {expected[0]} -> {expected[1]} (swapped file): '
                                 f'{self._rebuild_advice()}')

    def check_frame_size(self, height: int, width: int, input_size: int, batch: int = 1):
        """Refuse, before the first frame, a camera resolution outside the engine profile."""
        if self.metadata is not None:
            check_frame_size(self.metadata, height, width, input_size, batch)
        elif self.fixed_input_size is None:
            self._check_input_shape((batch, 3, *network_input_size(height, width, input_size)))

    def _check_input_shape(self, shape):
        if self.metadata is not None:
            check_input_shape(self.metadata, shape)
        elif not self.io.profile.contains(shape):
            raise UnsupportedFrameSize(
                f"input shape {tuple(shape)} is outside the profile of engine '{self.model_path}'"
                f' ({self.io.profile.describe()}): set input_size (and the batch) to what it was '
                f'built for, or {self._rebuild_advice()}')

    def infer(self, pixel_values: torch.Tensor) -> torch.Tensor:
        pixel_values = pixel_values.to(self.device, self.input_dtype).contiguous()
        with torch.cuda.device(self.device):
            if tuple(pixel_values.shape) != self._bound_shape:
                self._bind_shape(tuple(pixel_values.shape))
            if self._graphs is not None:
                return self._graphs(pixel_values)
            return self._execute(pixel_values)

    def _bind_shape(self, shape):
        self._check_input_shape(shape)
        if not self.context.set_input_shape(self.io.input_name, shape):
            raise ModelLoadError(f"TensorRT rejected input shape {shape} for '{self.model_path}'"
                                 f' (see the TensorRT messages above): {self._rebuild_advice()}')
        produced = tuple(self.context.get_tensor_shape(self.io.output_name))
        # This package's engines are Depth-Anything: the depth map has the input's size.
        expected = output_shape(shape) if self.metadata is not None else None
        if expected is not None and produced != expected or any(dim < 0 for dim in produced):
            raise ModelLoadError(f"engine '{self.model_path}' gives {self.io.output_name} "
                                 f'{produced} for input {shape}, expected '
                                 f"{expected or 'a shape without -1'}: {self._rebuild_advice()}")
        if self._graphs is not None:
            # A captured graph holds one shape's launch parameters and buffer addresses.
            self._graphs.clear()
        self._bound_shape = shape
        self._output_shape = produced

    def _execute(self, pixel_values: torch.Tensor) -> torch.Tensor:
        output = self._buffers.get(self.io.output_name, self._output_shape, self._output_dtype)
        self.context.set_tensor_address(self.io.input_name, pixel_values.data_ptr())
        self.context.set_tensor_address(self.io.output_name, output.data_ptr())
        stream = torch.cuda.current_stream(self.device).cuda_stream
        if not self.context.execute_async_v3(stream):
            raise RuntimeError(f"TensorRT failed to enqueue '{self.model_path}' (see the "
                               'TensorRT messages above)')
        return output

    def info(self) -> BackendInfo:
        detail = {'engine': self.origin, 'io': self.io.describe(),
                  'cuda_graph': str(self._graphs is not None)}
        meta = self.metadata
        if meta is not None:
            detail.update({'tensorrt': f'{meta.tensorrt_module} {meta.tensorrt_version}',
                           'model': meta.model, 'depth': meta.depth_estimation_type})
        else:
            detail.update({'tensorrt': f'{tensorrt_runtime.MODULE_NAME} '
                                       f'{tensorrt_runtime.VERSION}',
                           'unchecked': ', '.join(UNCHECKED_WITHOUT_SIDECAR)})
        return BackendInfo(self.name, self.model_path, str(self.device), self.precision, detail)

    def close(self):
        if self._graphs is not None:
            self._graphs.clear()
        self._buffers.clear()
        # Context before engine before runtime: each depends on the next.
        self.context = None
        self.engine = None
        self._runtime = None
