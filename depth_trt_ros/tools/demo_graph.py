"""A camera node and a depth_node in one process, for the demo and for tests."""
import itertools
import threading
import time

import numpy as np
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image

from depth_trt_ros.ros.conversions import fill_image
from depth_trt_ros.ros.depth_node import DepthNode
from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.ros.runtime import ros_context

NAMESPACE = '/demo_camera'


class DemoGraph:
    """``with DemoGraph(params) as g: depth, colorized, timings = g.round_trip(rgb)``."""

    def __init__(self, params: dict, timeout_s: float = 120.0):
        self._params = params
        self._timeout_s = timeout_s
        self._stamps = itertools.count(1)
        self._received = {}
        self._cond = threading.Condition()

    def __enter__(self):
        from rclpy.parameter import Parameter
        self._context = ros_context()
        self._context.__enter__()
        overrides = [Parameter(k, value=v) for k, v in self._params.items()]
        self.depth_node = DepthNode(namespace=NAMESPACE, parameter_overrides=overrides)
        if self.depth_node.startup_error:
            message = self.depth_node.startup_error
            self.__exit__(None, None, None)
            raise SystemExit(f'depth_node refused to start: {message}')
        self.camera = Node('demo_camera', namespace=NAMESPACE)
        qos = stream_qos('reliable', 5)
        self._publisher = self.camera.create_publisher(Image, 'image', qos)
        for topic in ('depth', 'depth/colorized'):
            self.camera.create_subscription(Image, topic,
                                            lambda m, t=topic: self._store(t, m), qos)
        self._executor = MultiThreadedExecutor()
        for node in (self.depth_node, self.camera):
            self._executor.add_node(node)
        self._thread = threading.Thread(target=self._executor.spin, daemon=True)
        self._thread.start()
        self._wait(lambda: self._publisher.get_subscription_count() > 0, 'the node to subscribe')
        return self

    def __exit__(self, *exc):
        if hasattr(self, '_executor'):
            self._executor.shutdown()
            self._thread.join(timeout=10)
        for name in ('camera', 'depth_node'):
            if hasattr(self, name):
                getattr(self, name).destroy_node()
        self._context.__exit__(*exc)

    def describe(self):
        return self.depth_node.service.describe()

    def _store(self, topic, msg):
        with self._cond:
            self._received[(topic, msg.header.stamp.sec)] = msg
            self._cond.notify_all()

    def _wait(self, predicate, what):
        deadline = time.monotonic() + self._timeout_s
        with self._cond:
            while not predicate():
                if time.monotonic() > deadline:
                    raise TimeoutError(f'timed out waiting for {what}')
                self._cond.wait(0.05)

    def round_trip(self, rgb: np.ndarray):
        """Publish ``rgb`` as bgr8; return depth, colorized BGR and the node's stage times."""
        stamp = next(self._stamps)
        msg = fill_image(Image(), np.ascontiguousarray(rgb[..., ::-1]), 'rgb8')
        msg.encoding = 'bgr8'
        msg.header.frame_id = 'demo_camera_optical'
        msg.header.stamp.sec = stamp
        self._publisher.publish(msg)
        keys = [('depth', stamp), ('depth/colorized', stamp)]
        self._wait(lambda: all(k in self._received for k in keys), f'depth of frame {stamp}')
        depth_msg, color_msg = (self._received.pop(k) for k in keys)
        depth = np.frombuffer(depth_msg.data, np.float32)
        colorized = np.frombuffer(color_msg.data, np.uint8)
        return (depth.reshape(depth_msg.height, depth_msg.width),
                colorized.reshape(color_msg.height, color_msg.width, 3),
                self.depth_node.stats.last_timings())
