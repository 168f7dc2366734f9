"""
The seed's stack, the divisor of ``bench chain``: depth, YOLO and distances per frame.

Depth is the seed's transformers recipe (:mod:`.baseline`). YOLO is the model file
the chain's detector runs, the simplest way a user without ultralytics runs an
export: resize to the network size (cv2), scale to [0, 1], one forward pass
(ONNX Runtime for ``.onnx``, TorchScript otherwise; fp32), each anchor's best
class above 0.25, torchvision's batched NMS (the project's where torchvision is
missing), boxes scaled back. A distance is the median depth of a box's central
half. One frame at a time, each to the end, on one thread.
"""
import json
import time
from typing import Dict, List, Tuple

import cv2
import numpy as np
import torch

from depth_trt_ros.inference.backends.base import parse_device, resolve_device
from depth_trt_ros.tools.bench.baseline import DepthRecipe, seed_checkpoint, time_frames

CONFIDENCE = 0.25
IOU = 0.45
DEFAULT_NETWORK = (640, 640)


def _batched_nms():
    try:
        from torchvision.ops import batched_nms
    except ImportError:
        from depth_trt_ros.inference.detection.nms import batched_nms
    return batched_nms


class PlainYolo:
    """A YOLO export run as its user would without ultralytics; ``__call__`` -> boxes, times."""

    def __init__(self, path: str, device: torch.device):
        self.device = device
        if path.endswith('.onnx'):
            import onnxruntime

            providers = ['CPUExecutionProvider']
            if device.type == 'cuda' and 'CUDAExecutionProvider' in \
                    onnxruntime.get_available_providers():
                providers.insert(0, 'CUDAExecutionProvider')
            session = onnxruntime.InferenceSession(path, providers=providers)
            name = session.get_inputs()[0].name
            self.network = tuple(session.get_inputs()[0].shape[2:4])
            self.runtime = f'onnxruntime {providers[0]}'
            self._forward = lambda images: torch.from_numpy(
                session.run(None, {name: images.cpu().numpy()})[0])
        else:
            # ultralytics' TorchScript export keeps its metadata (imgsz, names) in config.txt.
            extra = {'config.txt': ''}
            module = torch.jit.load(path, map_location=device, _extra_files=extra).eval()
            imgsz = json.loads(extra['config.txt'] or '{}').get('imgsz', DEFAULT_NETWORK)
            self.network = tuple(imgsz) if isinstance(imgsz, (list, tuple)) else (imgsz, imgsz)
            self.runtime = f'torchscript on {device}'
            self._forward = module
        self._nms = _batched_nms()

    def __call__(self, frame: np.ndarray) -> Tuple[np.ndarray, Dict[str, float]]:
        """Return the frame's boxes (x1, y1, x2, y2 in frame pixels) and the stage times."""
        started = time.perf_counter()
        height, width = self.network
        resized = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
        images = torch.from_numpy(resized).to(self.device).permute(2, 0, 1)[None].float() / 255
        preprocessed = time.perf_counter()
        with torch.no_grad():
            output = self._forward(images)
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
        inferred = time.perf_counter()
        predictions = output[0].float().T
        scores, class_ids = predictions[:, 4:].max(dim=1)
        keep = scores > CONFIDENCE
        centre, size = predictions[keep, :2], predictions[keep, 2:4]
        boxes = torch.cat((centre - size / 2, centre + size / 2), dim=1)
        kept = self._nms(boxes, scores[keep], class_ids[keep], IOU)
        scale = torch.tensor([frame.shape[1] / width, frame.shape[0] / height] * 2,
                             device=boxes.device)
        boxes = (boxes[kept] * scale).cpu().numpy()
        finished = time.perf_counter()
        return boxes, {'preprocess': (preprocessed - started) * 1e3,
                       'infer': (inferred - preprocessed) * 1e3,
                       'postprocess': (finished - inferred) * 1e3}


def box_distances(depth: np.ndarray, boxes: np.ndarray) -> List[float]:
    """Return the median depth of each box's central half (NaN for a box without pixels)."""
    distances = []
    for x1, y1, x2, y2 in boxes:
        quarter_w, quarter_h = (x2 - x1) / 4, (y2 - y1) / 4
        patch = depth[max(int(y1 + quarter_h), 0):max(int(y2 - quarter_h), 0),
                      max(int(x1 + quarter_w), 0):max(int(x2 - quarter_w), 0)]
        distances.append(float(np.median(patch)) if patch.size else float('nan'))
    return distances


def measure_seed_stack(frames: List[np.ndarray], args, iterations: int, warmup: int
                       ) -> Dict[str, object]:
    """Per-stage times and frames per second of the seed's depth + YOLO + distances."""
    device = parse_device(resolve_device(args.device))
    with seed_checkpoint(args.model, args.input_size) as folder:
        depth = DepthRecipe('seed', folder, device)
    yolo = PlainYolo(args.yolo_model, device)
    detections = []

    def step(frame: np.ndarray) -> Dict[str, float]:
        depth_map, depth_ms = depth(frame)
        boxes, yolo_ms = yolo(frame)
        started = time.perf_counter()
        box_distances(depth_map, boxes)
        detections.append(len(boxes))
        return dict({f'depth.{k}': v for k, v in depth_ms.items()},
                    **{f'yolo.{k}': v for k, v in yolo_ms.items()},
                    distance=(time.perf_counter() - started) * 1e3)

    try:
        results = time_frames(step, frames, iterations, warmup)
    finally:
        depth.close()
    return dict(depth.description, recipe='seed depth + plain YOLO + box medians',
                yolo_model=args.yolo_model, yolo_runtime=yolo.runtime,
                yolo_network=list(yolo.network), device=str(device),
                detections_per_frame=float(np.mean(detections[warmup:])) if detections else 0.0,
                **results)
