"""
YOLOv8/YOLO11 detection: letterbox, backend, box decoding and NMS, all in torch.

The exported head outputs ``[B, 4 + classes, N]``: per anchor a centre/size
box in network pixels followed by one score per class (no objectness). The
model runs through the backend interface of depth: an ONNX file on ONNX
Runtime, a TorchScript file on torch or a TensorRT engine on TensorRT.
"""
from dataclasses import dataclass, field
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from depth_trt_ros.inference.backends import build_backend, choose_backend, is_torchscript
from depth_trt_ros.inference.backends.base import Backend, ModelLoadError
# load_class_names is re-exported: the detector node and tools import it from here.
from depth_trt_ros.inference.detection.class_names import (load_class_names,  # noqa: F401
                                                           parse_class_names,
                                                           parse_network_size)
from depth_trt_ros.inference.detection.letterbox import Letterbox, LetterboxGeometry
from depth_trt_ros.inference.detection.nms import batched_nms, NMS_IMPLEMENTATION, \
    xywh_to_xyxy

DEFAULT_NETWORK_SIZE = (640, 640)
HOW_TO_EXPORT = 'as docs/detection.md describes'
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


def network_size_from(backend: Backend) -> Tuple[int, int]:
    """Return the export's input size: ultralytics' ``imgsz``, else the input shape."""
    if 'imgsz' in backend.model_metadata:
        return parse_network_size(backend.model_metadata['imgsz'])
    dims = getattr(backend, 'input_shape', ())
    if len(dims) == 4 and all(isinstance(d, int) for d in dims[2:]):
        return int(dims[2]), int(dims[3])
    return DEFAULT_NETWORK_SIZE


def model_class_names(backend: Backend) -> List[str]:
    """Return the class names stored in the model (ultralytics' ``names``), or none."""
    names = backend.model_metadata.get('names')
    return parse_class_names(names) if names else []


def _backend_options(kind: str) -> Dict[str, object]:
    """Tell each backend that a YOLO model is not a Depth-Anything one, and how to export."""
    if kind == 'onnxruntime':
        return {'input_name': None, 'output_name': None, 'output_shape': None,
                'how_to_export': HOW_TO_EXPORT}
    if kind == 'torch':
        return {'how_to_export': HOW_TO_EXPORT}
    return {}


def load_yolo_backend(kind: str, model_path: str, device: str, precision: str) -> Backend:
    """
    Open a YOLO export: ONNX, TorchScript or a TensorRT engine (its one input and output).

    ``.onnx`` runs on ONNX Runtime (on CUDA with its TensorRT execution
    provider), ``.torchscript`` on torch and ``.engine`` on TensorRT, the last
    two as CUDA graphs on CUDA. Class names and the input size come from the
    model's ultralytics metadata, checked here so that a corrupt file fails
    at load time with one message.
    """
    kind = choose_backend(kind, model_path)
    if kind == 'torch' and not is_torchscript(model_path):
        raise ModelLoadError(f"YOLO model '{model_path}' is none of .onnx, .torchscript or "
                             f".engine: export it {HOW_TO_EXPORT}")
    backend = build_backend(kind, model_path, device, precision, **_backend_options(kind))
    try:
        model_class_names(backend)
        network_size_from(backend)
    except ValueError as error:
        backend.close()
        raise ModelLoadError(f"YOLO model '{model_path}' has unusable metadata: {error}"
                             ) from error
    return backend


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
        """Backend, model, device, class count and NMS, for diagnostics and reports."""
        backend = self.backend.info()
        return {'backend': backend.backend, 'model': backend.model, 'device': backend.device,
                'classes': str(len(self.class_names)), 'nms': NMS_IMPLEMENTATION}

    def _to_image(self, decoded, geometry: LetterboxGeometry) -> Detections:
        boxes, scores, class_ids = decoded
        return Detections(geometry.to_image(boxes).cpu().numpy(), scores.cpu().numpy(),
                          class_ids.cpu().numpy().astype(np.int64), self.class_names)

    def close(self):
        self.backend.close()
