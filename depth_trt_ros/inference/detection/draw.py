"""Detections drawn onto a frame, for the annotated image topic."""
import cv2
import numpy as np

from depth_trt_ros.inference.detection.yolo import Detections


def class_color(class_id: int):
    """Pick a stable, distinct BGR colour per class (golden-ratio hues)."""
    hue = int((class_id * 0.618033988749895 % 1.0) * 179)
    pixel = cv2.cvtColor(np.uint8([[[hue, 200, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return tuple(int(c) for c in pixel)


def draw_detections(frame_rgb: np.ndarray, detections: Detections) -> np.ndarray:
    """Draw each box and its ``label score`` on a BGR copy of ``frame_rgb``."""
    image = np.ascontiguousarray(frame_rgb[..., ::-1])
    thickness = max(1, round(min(image.shape[:2]) / 300))
    for index, box in enumerate(detections.boxes):
        color = class_color(int(detections.class_ids[index]))
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        cv2.rectangle(image, (x0, y0), (x1, y1), color, thickness)
        text = f'{detections.label(index)} {detections.scores[index]:.2f}'
        cv2.putText(image, text, (x0, max(y0 - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thickness, color, thickness, cv2.LINE_AA)
    return image
