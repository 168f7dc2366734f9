"""One picture per demo frame: the photograph with its labelled boxes beside the depth."""
import math
from typing import Callable, Sequence

import cv2
import numpy as np

from depth_trt_ros.ros.detection_msgs import best_hypothesis, corner_box

CAPTION_HEIGHT = 26
WHITE, YELLOW = (255, 255, 255), (0, 215, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def object_label(detection_3d, metric: bool) -> str:
    """``class 2.3 m``: the class and the depth of the box (``rel`` without metric depth)."""
    name, _ = best_hypothesis(detection_3d)
    distance = detection_3d.bbox.center.position.z
    if not math.isfinite(distance):
        return f'{name} ?'
    return f'{name} {distance:.1f} m' if metric else f'{name} {distance:.2f} rel'


def draw_boxes(photo_bgr: np.ndarray, detections, detections_3d, metric: bool,
               color_of: Callable[[str], tuple]) -> np.ndarray:
    """Box every 2D detection on a copy of the photo, labelled from its 3D twin."""
    image = photo_bgr.copy()
    thickness = max(1, round(min(image.shape[:2]) / 250))
    # distance_node publishes the objects in the detector's order, one for one.
    for detection, located in zip(detections.detections, detections_3d.detections):
        x0, y0, x1, y1 = (int(round(v)) for v in corner_box(detection))
        color = color_of(best_hypothesis(detection)[0])
        cv2.rectangle(image, (x0, y0), (x1, y1), color, thickness)
        _label(image, object_label(located, metric), (x0, y0), color)
    return image


def _label(image: np.ndarray, text: str, corner, color):
    """Text on a filled box just above ``corner`` (inside the image), readable on any photo."""
    (width, height), baseline = cv2.getTextSize(text, FONT, 0.5, 1)
    x = min(max(corner[0], 0), max(image.shape[1] - width - 4, 0))
    y = max(corner[1], height + baseline + 4)
    cv2.rectangle(image, (x, y - height - baseline - 4), (x + width + 4, y), color, cv2.FILLED)
    cv2.putText(image, text, (x + 2, y - baseline - 2), FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)


def _captioned(panel: np.ndarray, lines: Sequence[tuple]) -> np.ndarray:
    """``panel`` under one caption band per ``(text, colour)`` line."""
    bands = []
    for text, color in lines:
        band = np.full((CAPTION_HEIGHT, panel.shape[1], 3), 32, np.uint8)
        cv2.putText(band, text, (6, CAPTION_HEIGHT - 8), FONT, 0.5, color, 1, cv2.LINE_AA)
        bands.append(band)
    return np.vstack(bands + [panel])


def chain_picture(name: str, photo_with_boxes: np.ndarray, colorized: np.ndarray,
                  depth: np.ndarray, metric: bool, warnings: Sequence[str]) -> np.ndarray:
    """Photo with boxes | colorized depth, each captioned; ``warnings`` in yellow above both."""
    finite = depth[np.isfinite(depth)]
    depth_text = 'depth: near = bright'
    if metric and finite.size:
        depth_text += f', {finite.min():.2f} to {finite.max():.2f} m'
    panels = np.hstack((_captioned(photo_with_boxes,
                                   [(f'{name}: detections, class + distance', WHITE)]),
                        _captioned(colorized, [(depth_text, WHITE)])))
    return _captioned(panels, [(text, YELLOW) for text in warnings])
