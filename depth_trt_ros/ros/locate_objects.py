"""
Detections + the depth of their frame -> Detection3DArray, as distance_node publishes it.

distance_node and ``replay --detector`` both call :func:`locate`, so a
replayed bag holds the distances a live pipeline would publish. Unknown
coordinates are NaN: x and y without intrinsics (no camera_info, or relative
depth), all three where a box has no valid depth or there is no depth.
"""
import math
from typing import List, Optional, Tuple

import numpy as np
from vision_msgs.msg import Detection2DArray, Detection3DArray

from depth_trt_ros.inference.distance import back_project_point, box_extent, robust_depth
from depth_trt_ros.inference.geometry import Intrinsics
from depth_trt_ros.ros.detection_msgs import corner_box, to_detection3d
from depth_trt_ros.ros.pointcloud import intrinsics_for

NAN = float('nan')


def depth_intrinsics(camera_info, metric: bool, shape) -> Optional[Intrinsics]:
    """
    Return the intrinsics that place objects in a depth image of ``shape``, or None.

    Only metric depth with a camera_info gives x and y; an uncalibrated
    camera_info raises ValueError.
    """
    if camera_info is None or not metric:
        return None
    return intrinsics_for(camera_info, width=shape[1], height=shape[0])


def locate(detections: Detection2DArray, depth: Optional[np.ndarray],
           intrinsics: Optional[Intrinsics], central_fraction: float,
           min_valid_fraction: float) -> Tuple[Detection3DArray, List[Optional[float]]]:
    """
    Place every detection with ``depth`` (None: no depth frame); return them and their labels.

    A label is the object's distance, or None where its position is not fully
    known: RViz rejects a marker at a non-finite position.
    """
    located = Detection3DArray(header=detections.header)
    labels = []
    for detection in detections.detections:
        box = corner_box(detection)
        distance = None if depth is None else robust_depth(depth, box, central_fraction,
                                                           min_valid_fraction)
        position, size = _place(box, distance, intrinsics)
        located.detections.append(to_detection3d(detection, detections.header, position, size))
        labels.append(distance if all(map(math.isfinite, position)) else None)
    return located, labels


def _place(box, distance: Optional[float], intrinsics: Optional[Intrinsics]):
    """Position and size of the object; NaN for what cannot be known."""
    if distance is None:
        return (NAN, NAN, NAN), (NAN, NAN, 0.0)
    if intrinsics is None:
        return (NAN, NAN, distance), (NAN, NAN, 0.0)
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    return (back_project_point(*centre, distance, intrinsics),
            (*box_extent(box, distance, intrinsics), 0.0))
