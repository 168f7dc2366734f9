"""
YOLOv8/YOLO11 detection: letterbox, backend, box decoding and NMS, all in torch.

The exported head outputs ``[B, 4 + classes, N]``: per anchor a centre/size
box in network pixels followed by one score per class (no objectness). The
model runs through the backend interface of depth: an ONNX file on ONNX
Runtime, a TorchScript file on torch or a TensorRT engine on TensorRT.

On the device a frame is letterboxed, inferred and cut to its best
``MAX_CANDIDATES`` anchors, a fixed-size result that needs no synchronisation
(graphed on CUDA); the confidence cut and NMS then run on the host over those.
A frame thus waits for the device once, at ``collect``. Measured on an H200
beside a depth process (benchmarks/gpu_sharing.py, 2026-11-30): the earlier
detector, which synchronised at its upload, its confidence mask, the GPU NMS
and each download, ran 88.6 frames/s there against 560.6 alone, because each
synchronisation waits for the other process's turn on the GPU.
"""
from dataclasses import dataclass, field
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from depth_trt_ros.inference.backends import build_backend, choose_backend, is_torchscript
from depth_trt_ros.inference.backends.base import Backend, CudaGraphRunner, ModelLoadError
# load_class_names is re-exported: the detector node and tools import it from here.
from depth_trt_ros.inference.detection.class_names import (load_class_names,  # noqa: F401
                                                           parse_class_names,
                                                           parse_network_size)
from depth_trt_ros.inference.detection.letterbox import Letterbox, LetterboxGeometry
from depth_trt_ros.inference.detection.nms import batched_nms, NMS_IMPLEMENTATION, \
    xywh_to_xyxy
from depth_trt_ros.inference.transfer import InFlight, on_device, StageClock, Transfers

DEFAULT_NETWORK_SIZE = (640, 640)
HOW_TO_EXPORT = 'as docs/detection.md describes'
# The anchors a frame's NMS considers at most (the best-scoring): bounds NMS time on the
# host and the download, on frames full of candidates.
MAX_CANDIDATES = 4096
# Columns of a candidate row, after its xyxy box.
SCORE, CLASS_ID = 4, 5


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


def candidates(output: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """
    ``[B, 4 + C, N]`` head output -> ``[B, K, 6]`` rows (x1, y1, x2, y2, score, class id).

    Each anchor takes its best class (as ultralytics does); an anchor whose
    best class is not ``allowed`` (``[C]`` bool) scores -1. The K = min(N,
    ``MAX_CANDIDATES``) best anchors come sorted by score, boxes in network
    pixels. Fixed shapes and no host synchronisation: it can be graphed.
    """
    predictions = output.float().transpose(1, 2)
    scores, class_ids = predictions[..., 4:].max(dim=2)
    # topk ranks NaN first: a broken score must not push real candidates out.
    scores = torch.where(allowed[class_ids] & ~scores.isnan(), scores,
                         torch.full_like(scores, -1.0))
    top = scores.topk(min(MAX_CANDIDATES, scores.shape[1]), dim=1).indices
    boxes = predictions[..., :4].gather(1, top[..., None].expand(-1, -1, 4))
    return torch.cat((xywh_to_xyxy(boxes), scores.gather(1, top)[..., None],
                      class_ids.gather(1, top)[..., None].float()), dim=2)


def class_mask(classes: Sequence[int], count: int, device: torch.device) -> torch.Tensor:
    """``[count]`` bool: True for the ``classes`` kept (all when none are named)."""
    if not classes:
        return torch.ones(count, dtype=torch.bool, device=device)
    mask = torch.zeros(count, dtype=torch.bool)
    mask[[c for c in classes if c < count]] = True
    return mask.to(device)


def select(rows: torch.Tensor, settings: DetectionSettings
           ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One image's candidate rows -> ``(boxes, scores, class_ids)``: threshold, then NMS."""
    rows = rows[rows[:, SCORE] > settings.confidence]
    boxes, scores, class_ids = rows[:, :4], rows[:, SCORE], rows[:, CLASS_ID].long()
    kept = batched_nms(boxes, scores, class_ids, settings.iou)[:settings.max_detections]
    return boxes[kept], scores[kept], class_ids[kept]


def check_head_output(output: torch.Tensor):
    if output.dim() != 3 or output.shape[1] < 5:
        raise ValueError(f'expected a YOLO head output [B, 4 + classes, N], got '
                         f'{tuple(output.shape)}')


def decode(output: torch.Tensor, settings: DetectionSettings
           ) -> List[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """
    ``[B, 4 + C, N]`` head output -> per image ``(boxes xyxy, scores, class_ids)``.

    Boxes stay in network pixels; each anchor takes its best class (as
    ultralytics does), then the confidence and class filters, class-aware
    NMS and the ``max_detections`` cut apply.
    """
    check_head_output(output)
    allowed = class_mask(settings.classes, output.shape[1] - 4, output.device)
    return [select(rows, settings) for rows in candidates(output, allowed).cpu()]


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
        self._transfers = Transfers(self.device)
        self._letterbox, self._candidates = self.letterbox, candidates
        self._graphs = ()
        if self._transfers.asynchronous:
            self._graphs = (CudaGraphRunner(self.letterbox, self.device),
                            CudaGraphRunner(candidates, self.device))
            self._letterbox, self._candidates = self._graphs
        self._class_mask: Tuple[Tuple, Optional[torch.Tensor]] = ((), None)

    @property
    def asynchronous(self) -> bool:
        """Whether ``launch`` returns before the device work is done (on CUDA)."""
        return self._transfers.asynchronous

    @property
    def pipelined(self) -> bool:
        """Whether a caller gains by launching the next frame before collecting this one."""
        return self.asynchronous and not self.backend.blocking

    def detect(self, frame: np.ndarray, bgr: bool = False) -> Detections:
        """Objects in one uint8 frame ``[H, W, 3]``, RGB (or BGR if ``bgr``)."""
        return self.launch(frame, bgr).collect()

    @torch.inference_mode()
    def launch(self, frame: np.ndarray, bgr: bool = False) -> 'PendingDetections':
        """Enqueue ``detect``'s device work; ``collect`` on the result finishes it."""
        with on_device(self.device):
            return self._launch(frame, bgr)

    def _launch(self, frame: np.ndarray, bgr: bool) -> 'PendingDetections':
        in_flight = self._transfers.begin()
        clock = StageClock(self.device)
        clock.mark('start')
        pixels = self._letterbox(self._transfers.upload([frame], in_flight), bgr=bgr)
        clock.mark('preprocess')
        output = self.backend.infer(pixels)
        clock.mark('infer')
        check_head_output(output)
        rows = self._candidates(output, self._allowed(output.shape[1] - 4))
        rows = self._transfers.download('candidates', rows, in_flight)
        clock.mark('decode')
        in_flight.launched()
        return PendingDetections(self, rows, self.letterbox.geometry(*frame.shape[:2]), clock,
                                 in_flight)

    def _allowed(self, count: int) -> torch.Tensor:
        """Return the class filter as a device mask, rebuilt only when the settings change."""
        # Read once: the node may replace the settings from another thread meanwhile.
        classes = self.settings.classes
        if self._class_mask[0] != (classes, count):
            self._class_mask = ((classes, count), class_mask(classes, count, self.device))
        return self._class_mask[1]

    def describe(self) -> Dict[str, str]:
        """Backend, model, device, class count and NMS, for diagnostics and reports."""
        backend = self.backend.info()
        return {'backend': backend.backend, 'model': backend.model, 'device': backend.device,
                'classes': str(len(self.class_names)), 'nms': NMS_IMPLEMENTATION}

    def close(self):
        # Waits for work still in flight, which reads these buffers and the backend's.
        self._transfers.clear()
        for runner in self._graphs:
            runner.clear()
        self.backend.close()


class PendingDetections:
    """A launched frame; ``collect`` waits for the device, then thresholds and suppresses."""

    def __init__(self, detector: YoloDetector, rows: np.ndarray, geometry: LetterboxGeometry,
                 clock: StageClock, in_flight: InFlight):
        self._detector = detector
        self._rows = rows
        self._geometry = geometry
        self._clock = clock
        self._in_flight = in_flight

    def collect(self) -> Detections:
        self._in_flight.wait()
        started = time.perf_counter()
        # Copied out of the pinned buffer, which the next frame may take.
        rows = torch.from_numpy(self._rows[0].copy())
        self._in_flight.release()
        boxes, scores, class_ids = select(rows, self._detector.settings)
        found = Detections(self._geometry.to_image(boxes).numpy(), scores.numpy(),
                           class_ids.numpy().astype(np.int64), self._detector.class_names)
        timings = self._clock.durations_ms()
        decode_ms = timings.pop('decode')
        found.timings_ms = dict(timings, postprocess=decode_ms +
                                (time.perf_counter() - started) * 1e3)
        return found
