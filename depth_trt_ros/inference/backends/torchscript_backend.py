"""
TorchScript backend: a ``torch.jit`` export (ultralytics ``format=torchscript``) under torch.

Ultralytics stores its metadata (``names``, ``imgsz``, ``stride``, ...) as
JSON in the archive's ``config.txt`` extra file; it becomes the backend's
``model_metadata``, as ONNX metadata_props do for the ONNX Runtime backend.
"""
import json
from pathlib import Path
from typing import Dict

import torch

from depth_trt_ros.inference.backends.base import BackendInfo, ModelLoadError
from depth_trt_ros.inference.backends.torch_backend import TorchModuleBackend

METADATA_FILE = 'config.txt'


def metadata_strings(metadata, source: str) -> Dict[str, str]:
    """
    A JSON metadata object -> ``{key: text}`` (non-strings as JSON text).

    Values stay text, like ONNX metadata_props, so that one parser (class
    names, ``imgsz``) reads every format.
    """
    if not isinstance(metadata, dict):
        raise ModelLoadError(f'{source} holds {type(metadata).__name__}, not a JSON object: '
                             're-export the model')
    return {str(key): value if isinstance(value, str) else json.dumps(value)
            for key, value in metadata.items()}


def read_torchscript_metadata(extra: Dict[str, bytes], model_path: str) -> Dict[str, str]:
    """Parse ultralytics' ``config.txt`` (empty when the export has none)."""
    text = extra.get(METADATA_FILE) or b''
    if not text:
        return {}
    source = f"'{METADATA_FILE}' in '{model_path}'"
    try:
        return metadata_strings(json.loads(text), source)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelLoadError(f'{source} is not JSON ({error}): re-export the model') from error


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
        self.model_metadata = read_torchscript_metadata(extra, model_path)
        self.model = model.to(self.input_dtype).eval()
        self.model_path = model_path

    def _forward(self, images: torch.Tensor) -> torch.Tensor:
        output = self.model(images)
        return output[0] if isinstance(output, (tuple, list)) else output

    def info(self) -> BackendInfo:
        return self._info(self.model_path, format='torchscript')
