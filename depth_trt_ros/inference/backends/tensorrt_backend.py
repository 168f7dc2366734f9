"""
TensorRT backend: a serialized engine run on torch.cuda buffers.

One execution context; the input and output are preallocated torch.cuda
tensors (reallocated only when the shape changes) bound by address, and the
engine is enqueued on torch's current stream, so it orders with the
preprocessing and postprocessing kernels without any host synchronisation.
Everything that can be checked without a GPU (sidecar, file integrity,
profile, shapes) is checked by ``engine_meta`` before TensorRT sees the file.
"""
from pathlib import Path

import torch

from depth_trt_ros.inference import tensorrt_runtime
from depth_trt_ros.inference.backends.base import (Backend, BackendInfo, CudaGraphRunner,
                                                   INPUT_NAME, ModelLoadError, OUTPUT_NAME,
                                                   parse_device, TensorBuffers)
from depth_trt_ros.inference.engine_meta import (check_frame_size, check_input_shape,
                                                 check_runtime, read_engine)
from depth_trt_ros.inference.engine_profile import output_shape


class TensorRTBackend(Backend):
    """Runs an engine built by ``depth-trt-ros export`` (``.engine`` + ``.engine.json``)."""

    name = 'tensorrt'

    def __init__(self, model_path: str, device: str = 'cuda', precision: str = 'fp16',
                 cuda_graph: bool = False):
        device = parse_device(device)
        if device.type != 'cuda':
            raise ValueError("the tensorrt backend runs only on CUDA: set device to 'cuda[:N]',"
                             ' or use backend onnxruntime or torch on the CPU')
        metadata, plan = read_engine(model_path)
        if precision == 'auto':  # the build fixed the precision; 'auto' takes the engine's
            precision = metadata.precision
        if precision != metadata.precision:
            raise ModelLoadError(f"engine '{model_path}' is {metadata.precision}: set "
                                 f'precision to {metadata.precision} (or auto), or rebuild '
                                 f'with --precision {precision}')
        super().__init__(device, precision)
        self.model_path = str(Path(model_path))
        self.metadata = metadata
        trt = tensorrt_runtime.require_tensorrt()
        major, minor = torch.cuda.get_device_capability(device)
        check_runtime(self.metadata, tensorrt_runtime.MODULE_NAME, tensorrt_runtime.VERSION,
                      torch.cuda.get_device_name(device), f'{major}.{minor}')
        self._logger = trt.Logger(trt.Logger.WARNING)
        with torch.cuda.device(device):
            self._runtime = trt.Runtime(self._logger)
            self.engine = self._runtime.deserialize_cuda_engine(plan)
            if self.engine is None:
                raise ModelLoadError(f"TensorRT could not deserialize '{model_path}' (see the "
                                     f'TensorRT messages above): rebuild it on this machine: '
                                     f'{self.metadata.rebuild_command()}')
            self.context = self.engine.create_execution_context()
        names = {self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)}
        if names != {INPUT_NAME, OUTPUT_NAME}:
            raise ModelLoadError(f"engine '{model_path}' has tensors {sorted(names)}, expected "
                                 f"'{INPUT_NAME}' -> '{OUTPUT_NAME}': rebuild it with "
                                 "'depth-trt-ros export'")
        # The FP16 builder flag keeps fp32 I/O, so the engine, not precision, sets the dtypes.
        self.input_dtype = self._tensor_dtype(INPUT_NAME)
        self._output_dtype = self._tensor_dtype(OUTPUT_NAME)
        self.metric = self.metadata.metric
        self.max_depth = self.metadata.max_depth if self.metric else None
        # A frame of exactly the profile's opt size reaches the network unresized.
        self.warmup_frame_size = tuple(self.metadata.profile.opt_shape[2:])
        self._buffers = TensorBuffers(device)
        self._bound_shape = None
        self._graphs = CudaGraphRunner(self._execute, device) if cuda_graph else None

    def _tensor_dtype(self, name: str) -> torch.dtype:
        return getattr(torch, tensorrt_runtime.dtype_name(self.engine.get_tensor_dtype(name)))

    def check_frame_size(self, height: int, width: int, input_size: int, batch: int = 1):
        """Refuse, before the first frame, a camera resolution outside the engine profile."""
        check_frame_size(self.metadata, height, width, input_size, batch)

    def infer(self, pixel_values: torch.Tensor) -> torch.Tensor:
        pixel_values = pixel_values.to(self.device, self.input_dtype).contiguous()
        with torch.cuda.device(self.device):
            if tuple(pixel_values.shape) != self._bound_shape:
                self._bind_shape(tuple(pixel_values.shape))
            if self._graphs is not None:
                return self._graphs(pixel_values)
            return self._execute(pixel_values)

    def _bind_shape(self, shape):
        check_input_shape(self.metadata, shape)
        if not self.context.set_input_shape(INPUT_NAME, shape):
            raise ModelLoadError(f"TensorRT rejected input shape {shape} for '{self.model_path}'"
                                 f' (see the TensorRT messages above): rebuild it with '
                                 f'{self.metadata.rebuild_command()}')
        expected = output_shape(shape)
        produced = tuple(self.context.get_tensor_shape(OUTPUT_NAME))
        if produced != expected:
            raise ModelLoadError(f"engine '{self.model_path}' gives {OUTPUT_NAME} {produced} "
                                 f'for input {shape}, expected {expected}: re-export the ONNX '
                                 "with 'depth-trt-ros export'")
        if self._graphs is not None:
            # A captured graph holds one shape's launch parameters and buffer addresses.
            self._graphs.clear()
        self._bound_shape = shape

    def _execute(self, pixel_values: torch.Tensor) -> torch.Tensor:
        output = self._buffers.get(OUTPUT_NAME, output_shape(pixel_values.shape),
                                   self._output_dtype)
        self.context.set_tensor_address(INPUT_NAME, pixel_values.data_ptr())
        self.context.set_tensor_address(OUTPUT_NAME, output.data_ptr())
        stream = torch.cuda.current_stream(self.device).cuda_stream
        if not self.context.execute_async_v3(stream):
            raise RuntimeError(f"TensorRT failed to enqueue '{self.model_path}' (see the "
                               'TensorRT messages above)')
        return output

    def info(self) -> BackendInfo:
        meta = self.metadata
        detail = {'tensorrt': f'{meta.tensorrt_module} {meta.tensorrt_version}',
                  'profile': meta.profile.describe(), 'io_dtype': str(self.input_dtype),
                  'cuda_graph': str(self._graphs is not None), 'model': meta.model,
                  'depth': meta.depth_estimation_type}
        return BackendInfo(self.name, self.model_path, str(self.device), self.precision, detail)

    def close(self):
        if self._graphs is not None:
            self._graphs.clear()
        self._buffers.clear()
        # Context before engine before runtime: each depends on the next.
        self.context = None
        self.engine = None
        self._runtime = None
