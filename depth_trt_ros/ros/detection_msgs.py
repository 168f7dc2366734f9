"""
Detections <-> vision_msgs, and distance markers for RViz.

Follows vision_msgs 4.x: ``class_id`` carries the class name (the id as text
when the model has no names), boxes are centre/size in pixels.
"""
from typing import List, Optional, Sequence, Tuple

from builtin_interfaces.msg import Duration
from vision_msgs.msg import (Detection2D, Detection2DArray, Detection3D, Detection3DArray,
                             ObjectHypothesisWithPose)
from visualization_msgs.msg import Marker, MarkerArray

from depth_trt_ros.inference.detection.yolo import Detections

Box = Tuple[float, float, float, float]
TEXT_HEIGHT_M = 0.15


def to_detection2d_array(detections: Detections, header) -> Detection2DArray:
    """One Detection2D per object, all with the frame's header; empty when none."""
    array = Detection2DArray(header=header)
    for index, (x0, y0, x1, y1) in enumerate(detections.boxes.tolist()):
        detection = Detection2D(header=header)
        detection.bbox.center.position.x = (x0 + x1) / 2
        detection.bbox.center.position.y = (y0 + y1) / 2
        detection.bbox.size_x = x1 - x0
        detection.bbox.size_y = y1 - y0
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id = detections.label(index)
        hypothesis.hypothesis.score = float(detections.scores[index])
        detection.results.append(hypothesis)
        array.detections.append(detection)
    return array


def corner_box(detection: Detection2D) -> Box:
    """Return the xyxy pixel box of a Detection2D (a rotation is ignored)."""
    centre, half_w, half_h = (detection.bbox.center.position, detection.bbox.size_x / 2,
                              detection.bbox.size_y / 2)
    return centre.x - half_w, centre.y - half_h, centre.x + half_w, centre.y + half_h


def best_hypothesis(detection) -> Tuple[str, float]:
    if not detection.results:
        return '', 0.0
    best = max(detection.results, key=lambda result: result.hypothesis.score)
    return best.hypothesis.class_id, best.hypothesis.score


def to_detection3d(detection: Detection2D, header, position: Sequence[float],
                   size: Sequence[float]) -> Detection3D:
    """Place the 2D detection at ``position`` (x, y, z) with ``size``, results kept."""
    located = Detection3D(header=header, id=detection.id)
    for result in detection.results:
        hypothesis = ObjectHypothesisWithPose(hypothesis=result.hypothesis)
        (hypothesis.pose.pose.position.x, hypothesis.pose.pose.position.y,
         hypothesis.pose.pose.position.z) = position
        located.results.append(hypothesis)
    point = located.bbox.center.position
    point.x, point.y, point.z = position
    located.bbox.size.x, located.bbox.size.y, located.bbox.size.z = size
    return located


def distance_markers(array: Detection3DArray, distances: List[Optional[float]], unit: str,
                     lifetime_s: float) -> MarkerArray:
    """
    Label each located object with ``class distance`` text markers.

    The first marker clears the previous frame's labels, so objects that left
    the view do not linger. Objects whose position is not fully known
    (``distance`` None) get no marker: RViz rejects non-finite positions.
    """
    markers = MarkerArray(markers=[Marker(header=array.header, action=Marker.DELETEALL)])
    lifetime = Duration(sec=int(lifetime_s), nanosec=int(lifetime_s % 1 * 1e9))
    for index, (detection, distance) in enumerate(zip(array.detections, distances)):
        if distance is None:
            continue
        label, _ = best_hypothesis(detection)
        marker = Marker(header=array.header, ns='distance', id=index, type=Marker.TEXT_VIEW_FACING,
                        action=Marker.ADD, lifetime=lifetime)
        marker.pose.position = detection.bbox.center.position
        marker.pose.orientation.w = 1.0
        marker.scale.z = TEXT_HEIGHT_M
        marker.color.r = marker.color.g = marker.color.b = marker.color.a = 1.0
        marker.text = f'{label} {distance:.2f} {unit}'
        markers.markers.append(marker)
    return markers
