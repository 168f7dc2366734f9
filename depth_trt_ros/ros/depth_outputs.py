"""
The depth node's output topics, and turning a DepthResult into their messages.

A metric model publishes ``depth`` (metres), ``depth/colorized``,
``depth/camera_info`` and, if asked, ``depth/mm`` and ``points``; a relative
model the same views under ``relative_inverse_depth`` (see :mod:`topics`).
"""
from typing import Callable, Optional

from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from depth_trt_ros.inference.estimator import DepthResult, Outputs
from depth_trt_ros.ros.conversions import fill_image
from depth_trt_ros.ros.image_cdr import serialize_image
from depth_trt_ros.ros.managed_node import destroy_publishers
from depth_trt_ros.ros.pointcloud import intrinsics_for, point_cloud
from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.ros.topics import depth_topic, join_topic


def image_message(array, encoding: str, header) -> Image:
    return fill_image(Image(), array, encoding, header)


def result_messages(header, result: DepthResult, camera_info: Optional[CameraInfo] = None,
                    image: Callable = image_message):
    """
    Return ``{relative topic: message}`` for every view of ``result``, under ``header``.

    The node publishes these and ``replay`` writes them to a bag, so both agree;
    ``image(array, encoding, header)`` makes the Image ones (the node's, serialized).
    """
    base = depth_topic(result.metric)
    messages = {base: image(result.depth, '32FC1', header)}
    if result.depth_mm is not None:
        messages['depth/mm'] = image(result.depth_mm, '16UC1', header)
    if result.points is not None:
        messages['points'] = point_cloud(header, result.points)
    if camera_info is not None:
        camera_info.header = header
        messages[f'{base}/camera_info'] = camera_info
    if result.colorized is not None:
        messages[f'{base}/colorized'] = image(result.colorized, 'bgr8', header)
    return messages


class DepthOutputs:
    """Lifecycle publishers for depth, colorized, depth/mm, points and camera_info."""

    def __init__(self, node, config, metric: bool, prefix: str = ''):
        """Make the publishers ``config`` asks for (output_qos, depth/mm, points)."""
        self._node = node
        qos = stream_qos(config.output_qos, 5)
        base = depth_topic(metric)
        self._colorized = f'{base}/colorized'
        topics = {base: Image, self._colorized: Image, f'{base}/camera_info': CameraInfo}
        if config.publish_depth_mm:
            topics['depth/mm'] = Image
        if config.publish_points:
            topics['points'] = PointCloud2
        self._pubs = {name: node.create_lifecycle_publisher(msg_type, join_topic(prefix, name),
                                                            qos)
                      for name, msg_type in topics.items()}
        self.camera_info: Optional[CameraInfo] = None
        # Why points are not published now (diagnostics warn), or None.
        self.points_problem: Optional[str] = None

    def requested(self, width: int, height: int, config) -> Outputs:
        """
        Return the views the next frame needs; colorized only while someone listens.

        ``config`` is the node's configuration now: its live parameters
        (publish_colorized, points_rgb) count from the next frame on.
        """
        colorized = config.publish_colorized and \
            self._pubs[self._colorized].get_subscription_count() > 0
        intrinsics = None
        if 'points' in self._pubs:
            intrinsics, self.points_problem = self._intrinsics(width, height)
        return Outputs(colorized=colorized, depth_mm='depth/mm' in self._pubs,
                       intrinsics=intrinsics, points_rgb=config.points_rgb)

    def _intrinsics(self, width: int, height: int):
        """Return ``(intrinsics, None)``, or ``(None, why not)``: then depth goes out alone."""
        if self.camera_info is None:
            return None, 'no camera_info received yet'
        try:
            return intrinsics_for(self.camera_info, width, height), None
        except ValueError as error:
            self._node.get_logger().warning(f'points not published: {error}',
                                            throttle_duration_sec=10.0)
            return None, str(error)

    def publish(self, header, result: DepthResult) -> int:
        """Publish every view of ``result`` under ``header``; returns colorized count."""
        # Serialized here: rclpy would convert a 1 MB image field by field.
        messages = result_messages(header, result, self.camera_info, serialize_image)
        for name, msg in messages.items():
            self._pubs[name].publish(msg)
        return int(self._colorized in messages)

    def destroy(self):
        destroy_publishers(self._node, self._pubs)
