"""
One camera served by the depth node: its input, camera_info and outputs.

A channel is named by its image topic: ``left/image`` reads ``left/image``
(or ``left/image/compressed``) and ``left/camera_info``, and publishes
``left/depth``, ``left/depth/colorized``, ... (``left/relative_inverse_depth``,
... for a relative model). The default ``image`` gives the
plain names, so namespaces and remaps work as for any ROS camera node.
"""
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from depth_trt_ros.ros.camera_input import CameraInput
from depth_trt_ros.ros.depth_outputs import DepthOutputs
from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.ros.topics import channel_prefix, join_topic


class CameraChannel:
    """
    Subscriptions and publishers of one camera.

    Frames reach ``on_message(channel, data)`` still serialized (``msg_type``),
    one at a time: the next one is taken after ``resume``.
    """

    def __init__(self, node, image_topic: str, config, metric: bool, stats, on_message):
        self.image_topic = image_topic
        self.prefix = channel_prefix(image_topic)
        # How diagnostics name this camera when the node serves several.
        self.label = self.prefix.strip('/') or 'image'
        self.outputs = DepthOutputs(node, config, metric, self.prefix)
        self.frame_counter = 0
        self._node = node
        self._stats = stats
        self._on_message = on_message
        self.input = None
        self.msg_type = Image
        self._info_subscription = None

    def start(self, config):
        compressed = config.image_transport == 'compressed'
        topic = f'{self.image_topic}/compressed' if compressed else self.image_topic
        self.msg_type = CompressedImage if compressed else Image
        self.input = CameraInput(self._node, self.msg_type, topic,
                                 lambda data: self._on_message(self, data), self._stats,
                                 config.qos, config.qos_depth, channel=self.label,
                                 gated=True)
        self.input.start()
        # Best effort matches camera_info publishers of either reliability.
        self._info_subscription = self._node.subscribe_checked(
            CameraInfo, join_topic(self.prefix, 'camera_info'), self._on_camera_info,
            stream_qos('best_effort', 5))

    def resume(self):
        """Let the next frame in: the input holds new frames in DDS until then."""
        if self.input is not None:
            self.input.resume()

    def _on_camera_info(self, msg: CameraInfo):
        self.outputs.camera_info = msg

    def stop(self):
        if self.input is not None:
            self.input.stop()
            self.input = None
        if self._info_subscription is not None:
            self._node.destroy_subscription(self._info_subscription)
            self._info_subscription = None

    def destroy(self):
        self.stop()
        self.outputs.destroy()
