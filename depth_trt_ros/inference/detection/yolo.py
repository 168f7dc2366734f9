"""
YOLOv8/YOLO11 detection: letterbox, backend, box decoding and NMS, all in torch.

The exported head outputs ``[B, 4 + classes, N]``: per anchor a centre/size
box in network pixels followed by one score per class (no objectness). The
model runs through the backend interface of depth, on ONNX Runtime (with its
TensorRT execution provider on CUDA).
"""
import ast
from dataclasses import dataclass, field
from pathlib import Path
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from depth_trt_ros.inference.backends import choose_backend, create_backend
from depth_trt_ros.inference.backends.base import Backend, ModelLoadError
from depth_trt_ros.inference.detection.letterbox import Letterbox, LetterboxGeometry
from depth_trt_ros.inference.detection.nms import batched_nms, xywh_to_xyxy

DEFAULT_NETWORK_SIZE = (640, 640)
# Bounds the IoU matrix (its memory grows with the square) on frames full of candidates.
MAX_CANDIDATES = 4096


@dataclass(frozen=True)
class DetectionSettings:
    """What counts as a detection."""

    confidence: float = 0.25
    iou: float = 0.45
    max_detections: int = 100
    classes: Tuple[int, ...] = ()

    def __post_init__(self):
        if not 0.0 <= self.confidence <= 1.0 or not 0.0 <= self.iou <= 1.0:
            raise ValueError(f'confidence ({self.confidence}) and iou ({self.iou}) must lie '
                             'in [0, 1]')
        if self.max_detections < 1:
            raise ValueError(f'max_detections must be at least 1, got {self.max_detections}')


@dataclass
class Detections:
    """Objects in one frame: xyxy ``boxes`` in image pixels, ``scores``, ``class_ids``."""

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    class_names: Sequence[str] = ()
    timings_ms: Dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.scores)

    def label(self, index: int) -> str:
        class_id = int(self.class_ids[index])
        return self.class_names[class_id] if class_id < len(self.class_names) else str(class_id)


def decode(output: torch.Tensor, settings: DetectionSettings
           ) -> List[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """
    ``[B, 4 + C, N]`` head output -> per image ``(boxes xyxy, scores, class_ids)``.

    Boxes stay in network pixels; each anchor takes its best class (as
    ultralytics does), then the confidence and class filters, class-aware
    NMS and the ``max_detections`` cut apply.
    """
    if output.dim() != 3 or output.shape[1] < 5:
        raise ValueError(f'expected a YOLO head output [B, 4 + classes, N], got '
                         f'{tuple(output.shape)}')
    results = []
    for predictions in output.float().transpose(1, 2):
        scores, class_ids = predictions[:, 4:].max(dim=1)
        keep = scores > settings.confidence
        if settings.classes:
            allowed = torch.tensor(settings.classes, device=class_ids.device)
            keep &= torch.isin(class_ids, allowed)
        boxes, scores, class_ids = xywh_to_xyxy(predictions[keep, :4]), scores[keep], \
            class_ids[keep]
        if scores.numel() > MAX_CANDIDATES:
            top = scores.topk(MAX_CANDIDATES).indices
            boxes, scores, class_ids = boxes[top], scores[top], class_ids[top]
        kept = batched_nms(boxes, scores, class_ids, settings.iou)[:settings.max_detections]
        results.append((boxes[kept], scores[kept], class_ids[kept]))
    return results


def parse_class_names(value) -> List[str]:
    """Class names from a list, an ``{id: name}`` dict or its text (ultralytics metadata)."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError) as error:
            raise ValueError(f'class names {value[:60]!r} are neither a list nor a dict'
                             ) from error
    if isinstance(value, dict):
        count = max(int(k) for k in value) + 1 if value else 0
        names = [str(i) for i in range(count)]
        for key, name in value.items():
            names[int(key)] = str(name)
        return names
    if isinstance(value, (list, tuple)):
        return [str(name) for name in value]
    raise ValueError(f'class names must be a list or a dict, got {type(value).__name__}')


def load_class_names(path: str) -> List[str]:
    """Read names from a YAML file: a list, a dict, or a dataset file with ``names:``."""
    import yaml

    try:
        content = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read class names from '{path}': {error}") from error
    if isinstance(content, dict) and 'names' in content:
        content = content['names']
    return parse_class_names(content)


def network_size_from(backend: Backend) -> Tuple[int, int]:
    """Return the export's input size: ultralytics' ``imgsz``, else the input shape."""
    if 'imgsz' in backend.model_metadata:
        size = ast.literal_eval(backend.model_metadata['imgsz'])
        return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
    dims = getattr(backend, 'input_shape', ())
    if len(dims) == 4 and all(isinstance(d, int) for d in dims[2:]):
        return int(dims[2]), int(dims[3])
    return DEFAULT_NETWORK_SIZE


def model_class_names(backend: Backend) -> List[str]:
    """Return the class names stored in the model (ultralytics' ``names``), or none."""
    names = backend.model_metadata.get('names')
    return parse_class_names(names) if names else []


def load_yolo_backend(kind: str, model_path: str, device: str, precision: str) -> Backend:
    """
    Open a YOLO ONNX file (its only input and output) with ONNX Runtime.

    On CUDA, ONNX Runtime's TensorRT execution provider builds and caches the
    TensorRT engine. Serialized engines are refused: the TensorRT backend
    reads Depth-Anything engines only.
    """
    kind = choose_backend(kind, model_path)
    if kind != 'onnxruntime':
        raise ModelLoadError(f"YOLO model '{model_path}' must be an .onnx file (backend "
                             f"'{kind}' is not available for detection): export it as "
                             'docs/detection.md describes')
    return create_backend(kind, model_path, device, precision, input_name=None,
                          output_name=None, output_shape=None,
                          how_to_export='as docs/detection.md describes')


class YoloDetector:
    """Frames in, :class:`Detections` out, on the backend's device; knows nothing about ROS."""

    def __init__(self, backend: Backend, settings: DetectionSettings = DetectionSettings(),
                 class_names: Optional[Sequence[str]] = None):
        self.backend = backend
        self.device = backend.device
        self.settings = settings
        self.class_names = list(model_class_names(backend) if class_names is None
                                else class_names)
        self.letterbox = Letterbox(network_size_from(backend), backend.input_dtype)

    @torch.inference_mode()
    def detect(self, frame: np.ndarray) -> Detections:
        """Objects in one uint8 RGB frame ``[H, W, 3]``."""
        started = time.perf_counter()
        pixels, geometry = self.letterbox(torch.from_numpy(np.ascontiguousarray(frame))
                                          .to(self.device))
        preprocessed = time.perf_counter()
        output = self.backend.infer(pixels)
        inferred = time.perf_counter()
        result = self._to_image(decode(output, self.settings)[0], geometry)
        result.timings_ms = {'preprocess': (preprocessed - started) * 1e3,
                             'infer': (inferred - preprocessed) * 1e3,
                             'postprocess': (time.perf_counter() - inferred) * 1e3}
        return result

    def describe(self) -> Dict[str, str]:
        """Backend, model, device and class count, for diagnostics and reports."""
        backend = self.backend.info()
        return {'backend': backend.backend, 'model': backend.model, 'device': backend.device,
                'classes': str(len(self.class_names))}

    def _to_image(self, decoded, geometry: LetterboxGeometry) -> Detections:
        boxes, scores, class_ids = decoded
        return Detections(geometry.to_image(boxes).cpu().numpy(), scores.cpu().numpy(),
                          class_ids.cpu().numpy().astype(np.int64), self.class_names)

    def close(self):
        self.backend.close()
