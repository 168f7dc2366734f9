"""
Detections in a bag replay: what detector_node and distance_node publish for a frame.

The replay runs the YOLO detector on each frame it runs depth on, and places
the objects in that frame's depth message with distance_node's
:func:`~depth_trt_ros.ros.locate_objects.locate`, as distance_node would with
the depth node's output: its default box settings, and the depth type of the
depth model. Both arrays carry the image's header; a frame without objects
gets empty ones. Needs vision_msgs, so only a replay with a detector imports it.
"""
import time
from typing import Callable, Dict

from depth_trt_ros.inference.detection.yolo import YoloDetector
from depth_trt_ros.ros.conversions import image_to_depth
from depth_trt_ros.ros.detection_msgs import to_detection2d_array
from depth_trt_ros.ros.detection_params import DISTANCE_SPECS
from depth_trt_ros.ros.locate_objects import depth_intrinsics, locate
from depth_trt_ros.ros.topics import depth_topic
from depth_trt_ros.tools.recorded.replay_report import DetectionReport

BOX_SETTINGS = {name: DISTANCE_SPECS[name].default
                for name in ('central_fraction', 'min_valid_fraction')}


class BagDetections:
    """Detects the objects of replayed frames and locates them in the frames' depth."""

    def __init__(self, detector: YoloDetector, metric: bool):
        self.detector = detector
        self.metric = metric

    def new_report(self) -> DetectionReport:
        return DetectionReport(description=self.detector.describe())

    def process(self, header, rgb, depth_messages: Dict[str, object], report: DetectionReport,
                write: Callable[[Dict[str, object]], None]):
        """
        Detect objects in ``rgb`` and ``write`` ``detections`` and ``detections_3d``.

        ``depth_messages`` are the frame's depth outputs (``depth``, and
        ``depth/camera_info`` once the camera's info was seen). A frame whose
        detection fails gets neither array, as in detector_node.
        """
        try:
            found = self.detector.detect(rgb)
        except RuntimeError:  # e.g. out of device memory, as in the node: skip the frame
            report.failed += 1
            return
        started = time.perf_counter()
        detections = to_detection2d_array(found, header)
        base = depth_topic(self.metric)
        depth = image_to_depth(depth_messages[base])
        try:
            intrinsics = depth_intrinsics(depth_messages.get(f'{base}/camera_info'),
                                          self.metric, depth.shape)
        except ValueError:  # uncalibrated: distance_node leaves x and y unknown too
            intrinsics = None
        located, _ = locate(detections, depth, intrinsics, **BOX_SETTINGS)
        write_start = time.perf_counter()
        write({'detections': detections, 'detections_3d': located})
        report.stages.add(dict(found.timings_ms, distance=(write_start - started) * 1e3,
                               write=(time.perf_counter() - write_start) * 1e3))
        report.frames += 1
        report.detections += len(found)
        if intrinsics is None and self.metric:
            report.frames_without_camera_info += 1
