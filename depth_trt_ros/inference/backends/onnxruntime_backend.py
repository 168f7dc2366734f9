"""
ONNX Runtime backend: TensorRT, CUDA or CPU execution providers.

On CUDA the session's input and output are bound to preallocated torch.cuda
tensors (I/O binding), so frames never leave the GPU between stages.
"""
from pathlib import Path
from typing import List, Sequence

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
    """Runs an exported Depth-Anything ONNX file."""

    name = 'onnxruntime'

    def __init__(self, model_path: str, device: str = 'cpu', precision: str = 'fp32',
                 providers: Sequence[str] = ('tensorrt', 'cuda', 'cpu')):
        import onnxruntime as ort

        device = parse_device(device)
        super().__init__(device, precision)
        path = Path(model_path)
        if not path.is_file():
            raise ModelLoadError(f"ONNX model '{model_path}' does not exist: export one with "
                                 "'depth-trt-ros export'")
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
                                 "it with 'depth-trt-ros export'") from error
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = {o.name for o in self.session.get_outputs()}
        if INPUT_NAME not in inputs or OUTPUT_NAME not in outputs:
            raise ModelLoadError(
                f"'{model_path}' is not a Depth-Anything export: it needs input '{INPUT_NAME}' "
                f"and output '{OUTPUT_NAME}', it has {sorted(inputs)} -> {sorted(outputs)}")
        self.input_dtype = _ONNX_TYPES.get(inputs[INPUT_NAME].type, torch.float32)
        uses_trt = self.session.get_providers()[0] == PROVIDER_NAMES['tensorrt']
        if precision == 'fp16' and self.input_dtype != torch.float16 and not uses_trt:
            raise ModelLoadError(
                f"precision fp16 needs an fp16 ONNX or the tensorrt provider; '{model_path}' "
                'is fp32: export with --precision fp16 or set precision to fp32')
        self.model_path = str(path)
        metadata = self.session.get_modelmeta().custom_metadata_map
        self.metric = metadata.get('depth_estimation_type') == 'metric'
        self.max_depth = float(metadata['max_depth']) if self.metric else None
        self._buffers = TensorBuffers(device)
        self._binding = self.session.io_binding() if device.type == 'cuda' else None

    def infer(self, pixel_values: torch.Tensor) -> torch.Tensor:
        pixel_values = pixel_values.to(self.device, self.input_dtype).contiguous()
        if self._binding is None:
            output = self.session.run([OUTPUT_NAME], {INPUT_NAME: pixel_values.numpy()})[0]
            return torch.from_numpy(output)
        batch, _, height, width = pixel_values.shape
        output = self._buffers.get(OUTPUT_NAME, (batch, height, width), self.input_dtype)
        element = _NUMPY_TYPES[self.input_dtype]
        index = self.device.index or 0
        self._binding.bind_input(INPUT_NAME, 'cuda', index, element, tuple(pixel_values.shape),
                                 pixel_values.data_ptr())
        self._binding.bind_output(OUTPUT_NAME, 'cuda', index, element, tuple(output.shape),
                                  output.data_ptr())
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
