"""
ONNX Runtime backend: TensorRT, CUDA or CPU execution providers.

On CUDA the session's input and output are bound to preallocated torch.cuda
tensors (I/O binding), so frames never leave the GPU between stages.
"""
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch

from depth_trt_ros.inference.backends.base import (Backend, BackendInfo, INPUT_NAME,
                                                   ModelLoadError, OUTPUT_NAME, parse_device,
                                                   TensorBuffers)

PROVIDER_NAMES = {
    'tensorrt': 'TensorrtExecutionProvider',
    'cuda': 'CUDAExecutionProvider',
    'cpu': 'CPUExecutionProvider',
}
_ONNX_TYPES = {'tensor(float)': torch.float32, 'tensor(float16)': torch.float16}
_NUMPY_TYPES = {torch.float32: np.float32, torch.float16: np.float16}
OutputShape = Callable[[Tuple[int, ...]], Tuple[int, ...]]


def depth_output_shape(input_shape: Tuple[int, ...]) -> Tuple[int, ...]:
    """Depth-Anything: ``[B, 3, H, W]`` in, ``[B, H, W]`` out."""
    batch, _, height, width = input_shape
    return batch, height, width


def resolve_providers(names: Sequence[str], device: torch.device, precision: str,
                      cache_dir: Path) -> List:
    """Map short provider names to ONNX Runtime's, with options, in priority order."""
    import onnxruntime as ort

    available = set(ort.get_available_providers())
    providers = []
    for name in names:
        full = PROVIDER_NAMES[name]
        if full not in available:
            continue
        if name == 'tensorrt':
            options = {'device_id': device.index or 0, 'trt_fp16_enable': precision == 'fp16',
                       'trt_engine_cache_enable': True, 'trt_timing_cache_enable': True,
                       'trt_engine_cache_path': str(cache_dir)}
            providers.append((full, options))
        elif name == 'cuda':
            providers.append((full, {'device_id': device.index or 0}))
        else:
            providers.append(full)
    if device.type == 'cuda' and not any(
            PROVIDER_NAMES[n] in available for n in names if n != 'cpu'):
        raise ValueError(f'device {device} needs the tensorrt or cuda provider, but this '
                         f'onnxruntime offers only {sorted(available)}: install '
                         'onnxruntime-gpu or set device to cpu')
    if not providers:
        raise ValueError(f'none of the providers {list(names)} is available '
                         f'(available: {sorted(available)})')
    return providers


class OnnxRuntimeBackend(Backend):
    """
    Runs an ONNX file: Depth-Anything by default, any one-input model by name.

    ``input_name``/``output_name`` select the tensors (None: the model's only
    one); ``output_shape`` maps an input shape to the output shape for CUDA
    I/O binding (None: the declared output shape, batch taken from the input);
    ``how_to_export`` completes the advice of a load error.
    """

    name = 'onnxruntime'
    blocking = True

    def __init__(self, model_path: str, device: str = 'cpu', precision: str = 'fp32',
                 providers: Sequence[str] = ('tensorrt', 'cuda', 'cpu'),
                 input_name: Optional[str] = INPUT_NAME, output_name: Optional[str] = OUTPUT_NAME,
                 output_shape: Optional[OutputShape] = depth_output_shape,
                 how_to_export: str = "with 'depth-trt-ros export'"):
        import onnxruntime as ort

        device = parse_device(device)
        super().__init__(device, precision)
        path = Path(model_path)
        if not path.is_file():
            raise ModelLoadError(f"ONNX model '{model_path}' does not exist: export one "
                                 f'{how_to_export}')
        unknown = [name for name in providers if name not in PROVIDER_NAMES]
        if unknown:
            raise ValueError(f"unknown ONNX Runtime provider(s) {unknown}: use "
                             f"{', '.join(PROVIDER_NAMES)}")
        if device.type == 'cpu':
            providers = ['cpu']
        resolved = resolve_providers(providers, device, precision, path.parent)
        try:
            self.session = ort.InferenceSession(str(path), providers=resolved)
        except Exception as error:  # onnxruntime raises its own untyped exceptions
            raise ModelLoadError(f"cannot load ONNX model '{model_path}': {error}. Re-export "
                                 f'it {how_to_export}') from error
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = {o.name: o for o in self.session.get_outputs()}
        self.input_name = input_name or next(iter(inputs))
        self.output_name = output_name or next(iter(outputs))
        if self.input_name not in inputs or self.output_name not in outputs:
            kind = 'a Depth-Anything export' if input_name == INPUT_NAME else 'the expected model'
            raise ModelLoadError(
                f"'{model_path}' is not {kind}: it needs input '{self.input_name}' "
                f"and output '{self.output_name}', it has {sorted(inputs)} -> {sorted(outputs)}")
        self.input_shape = tuple(inputs[self.input_name].shape)
        self._output_shape = output_shape or self._declared_output_shape(
            outputs[self.output_name].shape, model_path)
        self.input_dtype = _ONNX_TYPES.get(inputs[self.input_name].type, torch.float32)
        uses_trt = self.session.get_providers()[0] == PROVIDER_NAMES['tensorrt']
        if precision == 'fp16' and self.input_dtype != torch.float16 and not uses_trt:
            raise ModelLoadError(
                f"precision fp16 needs an fp16 ONNX or the tensorrt provider; '{model_path}' "
                'is fp32: export with --precision fp16 or set precision to fp32')
        self.model_path = str(path)
        self.model_metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self._buffers = TensorBuffers(device)
        self._binding = self.session.io_binding() if device.type == 'cuda' else None

    @staticmethod
    def _declared_output_shape(dims, model_path: str) -> OutputShape:
        if any(not isinstance(d, int) for d in dims[1:]):
            raise ModelLoadError(f"'{model_path}' has a dynamic output shape {dims}: export it "
                                 'with a fixed image size')
        return lambda input_shape: (input_shape[0], *dims[1:])

    def infer(self, pixel_values: torch.Tensor) -> torch.Tensor:
        pixel_values = pixel_values.to(self.device, self.input_dtype).contiguous()
        if self._binding is None:
            feed = {self.input_name: pixel_values.numpy()}
            return torch.from_numpy(self.session.run([self.output_name], feed)[0])
        output = self._buffers.get(self.output_name,
                                   self._output_shape(tuple(pixel_values.shape)),
                                   self.input_dtype)
        element = _NUMPY_TYPES[self.input_dtype]
        index = self.device.index or 0
        self._binding.bind_input(self.input_name, 'cuda', index, element,
                                 tuple(pixel_values.shape), pixel_values.data_ptr())
        self._binding.bind_output(self.output_name, 'cuda', index, element,
                                  tuple(output.shape), output.data_ptr())
        # ORT runs on its own stream: torch's pending work on the input must finish first.
        torch.cuda.current_stream(self.device).synchronize()
        self.session.run_with_iobinding(self._binding)
        return output

    def info(self) -> BackendInfo:
        detail = {'providers': ','.join(self.session.get_providers())}
        return BackendInfo(self.name, self.model_path, str(self.device), self.precision, detail)

    def close(self):
        self._buffers.clear()
        self.session = None
