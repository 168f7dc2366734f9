"""
The demo's graph in one process: a camera node and the depth + YOLO chain, over DDS.

depth_node and detector_node subscribe the camera's images; distance_node
pairs the detections with the depth of the same frame. The camera node
publishes each frame with its camera_info and waits for everything the chain
sends back with that frame's stamp.
"""
from dataclasses import dataclass
import threading
import time
from typing import Dict

import numpy as np
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from depth_trt_ros.ros.conversions import fill_image
from depth_trt_ros.ros.depth_node import DepthNode
from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.ros.runtime import ros_context
from depth_trt_ros.ros.topics import depth_topic

NAMESPACE = '/demo_camera'
FRAME_ID = 'demo_camera_optical'
# What the camera node waits for, per frame (by role: the depth topics follow the model).
RESULTS = ('depth', 'colorized', 'detections', 'detections_3d')


@dataclass
class ChainResult:
    """What came back for one frame, and when (ms after the camera published it)."""

    depth: np.ndarray
    colorized: np.ndarray
    detections: object
    detections_3d: object
    arrival_ms: Dict[str, float]
    timings: Dict[str, Dict[str, float]]


def camera_info(height: int, width: int, header) -> CameraInfo:
    """Pinhole intrinsics of a ~53 degree lens (fx = width): the photographs have none."""
    focal = float(width)
    return CameraInfo(header=header, height=height, width=width, distortion_model='plumb_bob',
                      d=[0.0] * 5,
                      k=[focal, 0.0, width / 2, 0.0, focal, height / 2, 0.0, 0.0, 1.0],
                      r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                      p=[focal, 0.0, width / 2, 0.0, 0.0, focal, height / 2, 0.0,
                         0.0, 0.0, 1.0, 0.0])


class DemoGraph:
    """``with DemoGraph(depth, detector, distance) as g: result = g.round_trip(rgb)``."""

    def __init__(self, depth_params: dict, detector_params: dict, distance_params: dict,
                 timeout_s: float = 120.0):
        self._params = {'depth_node': depth_params, 'detector_node': detector_params,
                        'distance_node': distance_params}
        self._timeout_s = timeout_s
        self._received = {}
        self._cond = threading.Condition()
        self.nodes = {}

    def __enter__(self):
        self._context = ros_context()
        self._context.__enter__()
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self):
        from vision_msgs.msg import Detection2DArray, Detection3DArray

        from depth_trt_ros.ros.detector_node import DetectorNode
        from depth_trt_ros.ros.distance_node import DistanceNode

        self._start_node('depth_node', DepthNode)
        self._start_node('detector_node', DetectorNode)
        self._start_node('distance_node', DistanceNode)
        base = depth_topic(self.nodes['depth_node'].service.metric)
        topics = (base, f'{base}/colorized', 'detections', 'detections_3d')
        self.camera = Node('demo_camera', namespace=NAMESPACE)
        qos = stream_qos('reliable', 5)
        self._publisher = self.camera.create_publisher(Image, 'image', qos)
        self._info_publisher = self.camera.create_publisher(CameraInfo, 'camera_info', qos)
        types = (Image, Image, Detection2DArray, Detection3DArray)
        for role, topic, msg_type in zip(RESULTS, topics, types):
            self.camera.create_subscription(msg_type, topic,
                                            lambda m, r=role: self._store(r, m), qos)
        self._executor = MultiThreadedExecutor()
        for node in (*self.nodes.values(), self.camera):
            self._executor.add_node(node)
        self._thread = threading.Thread(target=self._executor.spin, daemon=True)
        self._thread.start()
        self._wait(lambda: self._publisher.get_subscription_count() >= 2,
                   'depth_node and detector_node to subscribe')

    def _start_node(self, name, node_type):
        from rclpy.parameter import Parameter

        overrides = [Parameter(k, value=v) for k, v in self._params[name].items()]
        node = node_type(name, namespace=NAMESPACE, parameter_overrides=overrides)
        self.nodes[name] = node
        if node.startup_error:
            raise SystemExit(f'{name} refused to start: {node.startup_error}')

    def __exit__(self, *exc):
        if hasattr(self, '_executor'):
            self._executor.shutdown()
            self._thread.join(timeout=10)
        if hasattr(self, 'camera'):
            self.camera.destroy_node()
        for node in self.nodes.values():
            node.destroy_node()
        self._context.__exit__(*exc)

    def describe(self) -> Dict[str, Dict[str, str]]:
        """Per node, what it runs (model, backend, device, ...)."""
        return {'depth_node': self.nodes['depth_node'].service.describe(),
                'detector_node': self.nodes['detector_node'].detector.describe()}

    def _store(self, topic, msg):
        with self._cond:
            key = (msg.header.stamp.sec, msg.header.stamp.nanosec)
            self._received[(topic, key)] = (msg, time.perf_counter())
            self._cond.notify_all()

    def _wait(self, predicate, what):
        deadline = time.monotonic() + self._timeout_s
        with self._cond:
            while not predicate():
                if time.monotonic() > deadline:
                    raise TimeoutError(f'timed out waiting for {what}')
                self._cond.wait(0.05)

    def round_trip(self, rgb: np.ndarray) -> ChainResult:
        """Publish ``rgb`` as bgr8 with its camera_info; return what the chain sends back."""
        msg = fill_image(Image(), np.ascontiguousarray(rgb[..., ::-1]), 'rgb8')
        msg.encoding = 'bgr8'
        msg.header.frame_id = FRAME_ID
        msg.header.stamp = self.camera.get_clock().now().to_msg()
        stamp = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        self._info_publisher.publish(camera_info(msg.height, msg.width, msg.header))
        sent = time.perf_counter()
        self._publisher.publish(msg)
        keys = [(role, stamp) for role in RESULTS]
        self._wait(lambda: all(k in self._received for k in keys), f'the results of {stamp}')
        with self._cond:
            results = {role: self._received.pop(key) for role, key in zip(RESULTS, keys)}
        depth_msg, color_msg = results['depth'][0], results['colorized'][0]
        depth = np.frombuffer(depth_msg.data, np.float32)
        colorized = np.frombuffer(color_msg.data, np.uint8)
        return ChainResult(
            depth=depth.reshape(depth_msg.height, depth_msg.width),
            colorized=colorized.reshape(color_msg.height, color_msg.width, 3),
            detections=results['detections'][0], detections_3d=results['detections_3d'][0],
            arrival_ms={topic: (arrived - sent) * 1e3 for topic, (_, arrived) in results.items()},
            timings={name: node.stats.last_timings() for name, node in self.nodes.items()})
