"""
TorchScript backend: a ``torch.jit`` export (ultralytics ``format=torchscript``) under torch.

Ultralytics stores its metadata (``names``, ``imgsz``, ``stride``, ...) as
JSON in the archive's ``config.txt`` extra file; it becomes the backend's
``model_metadata``, as ONNX metadata_props do for the ONNX Runtime backend.
"""
from pathlib import Path

import torch

from depth_trt_ros.inference.backends.base import BackendInfo, ModelLoadError, \
    parse_metadata_json
from depth_trt_ros.inference.backends.torch_backend import TorchModuleBackend

METADATA_FILE = 'config.txt'


class TorchScriptBackend(TorchModuleBackend):
    """
    Runs a TorchScript module whose ``forward(images)`` returns a tensor (or a tuple: its first).

    The archive is loaded straight onto the device (``map_location`` moves
    constants the trace captured, such as YOLO's anchor grid, too).
    """

    def __init__(self, model_path: str, device: str = 'cpu', precision: str = 'fp32',
                 cuda_graph: bool = True, how_to_export: str = 'as docs/detection.md describes'):
        super().__init__(device, precision, cuda_graph)
        if not Path(model_path).is_file():
            raise ModelLoadError(f"TorchScript model '{model_path}' does not exist: export one "
                                 f'{how_to_export}')
        extra = {METADATA_FILE: ''}
        try:
            model = torch.jit.load(model_path, map_location=self.device, _extra_files=extra)
        except (RuntimeError, ValueError, OSError) as error:
            raise ModelLoadError(f"cannot load TorchScript model '{model_path}' "
                                 f'({str(error).splitlines()[0]}): re-export it '
                                 f'{how_to_export}') from error
        # Empty when the export has no config.txt (not an ultralytics export).
        raw = extra[METADATA_FILE]
        self.model_metadata = parse_metadata_json(
            raw, f"'{METADATA_FILE}' in '{model_path}'") if raw else {}
        self.model = model.to(self.input_dtype).eval()
        self.model_path = model_path

    def _forward(self, images: torch.Tensor) -> torch.Tensor:
        output = self.model(images)
        return output[0] if isinstance(output, (tuple, list)) else output

    def info(self) -> BackendInfo:
        return self._info(self.model_path, format='torchscript')
