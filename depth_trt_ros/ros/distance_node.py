"""
distance_node: detections + depth of the same frame in, distances out.

Subscribes ``detections`` (vision_msgs/Detection2DArray), and the depth node's
output of either kind: ``depth`` (metres, with ``depth/camera_info``) or
``relative_inverse_depth`` (no unit). Which one arrives says what the depth
holds, so distances follow the depth node's model, not a setting. Publishes
``detections_3d`` (vision_msgs/Detection3DArray, one per detection message,
empty when it is empty) and ``detections_3d/markers`` (text labels for RViz).
Unknown coordinates are NaN: x and y without camera_info, all three where
the box has no valid depth or no depth frame matched (see locate_objects).
Messages are checked before they are deserialized; a message with more than
``MAX_DETECTIONS`` objects is cut there (counted), so one message cannot hold
the executor for seconds.
"""
import time
from typing import Optional

from rclpy.lifecycle import State, TransitionCallbackReturn
from sensor_msgs.msg import CameraInfo, Image
from vision_msgs.msg import Detection2DArray, Detection3DArray
from visualization_msgs.msg import MarkerArray

from depth_trt_ros.inference.geometry import Intrinsics
from depth_trt_ros.ros.camera_input import CameraInput
from depth_trt_ros.ros.conversions import BadImageError, image_to_depth
from depth_trt_ros.ros.detection_msgs import distance_markers
from depth_trt_ros.ros.detection_params import DETECTOR_SPECS, DISTANCE_SPECS
from depth_trt_ros.ros.diagnostics import NodeStats, stamp_latency_ms
from depth_trt_ros.ros.image_cdr import decode_image
from depth_trt_ros.ros.locate_objects import depth_intrinsics, locate
from depth_trt_ros.ros.managed_node import destroy_publishers, ManagedNode, OK, THROTTLE_S
from depth_trt_ros.ros.params import read_parameters
from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.ros.runtime import run_node
from depth_trt_ros.ros.stamp_sync import StampPairer, stamp_ns
from depth_trt_ros.ros.topics import depth_topic
from depth_trt_ros.ros.wire import deserialize_checked

STAGES = ('distance', 'publish')
# As many objects as detector_node may publish for one frame.
MAX_DETECTIONS = DETECTOR_SPECS['max_detections'].int_range[1]
# How often detections that waited sync_timeout for depth are let go.
EXPIRY_PERIOD_S = 0.05


class DistanceNode(ManagedNode):
    """Locates every detected object with the depth image of its frame."""

    def __init__(self, node_name: str = 'distance_node', **kwargs):
        super().__init__(node_name, STAGES, **kwargs)
        self.declare_specs(DISTANCE_SPECS)
        self.depth_stats = NodeStats(())
        self.config = None
        self._inputs = []
        self._info_sub = None
        self._camera_info: Optional[CameraInfo] = None
        # Why the last frame's camera_info could not place objects, or None.
        self._info_problem: Optional[str] = None
        # Whether the last depth frame was metric (None before the first).
        self._metric: Optional[bool] = None
        self._pairer = None
        self._expiry = None
        self._pubs = {}
        self.start_if_autostart()

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        try:
            self.config = read_parameters(self, DISTANCE_SPECS)
        except Exception as error:  # a failed transition must say why, whatever was raised
            return self.configure_failed(error)
        self.startup_error = None
        qos = stream_qos(self.config['output_qos'], 5)
        self._pubs = {
            'detections': self.create_lifecycle_publisher(Detection3DArray, 'detections_3d', qos),
            'markers': self.create_lifecycle_publisher(MarkerArray, 'detections_3d/markers', qos)}
        return OK

    @property
    def configured(self) -> bool:
        return bool(self._pubs)

    def effective_parameters(self):
        return dict(self.config or {})

    def apply_parameters(self, updated) -> Optional[str]:
        """Apply box, marker and sync settings from the next message on; new inputs if asked."""
        self.config = dict(self.config, **updated)
        if self._pairer is not None:
            self._pairer.configure(*self._sync_settings())
        if self._inputs and self.changes_input(updated):
            self._stop_input()
            self._start_input()
        return None

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        slop_ns, queue_size, timeout_s = self._sync_settings()
        self._pairer = StampPairer(slop_ns, queue_size, self._locate, self._unmatched, timeout_s)
        self._start_input()
        return super().on_activate(state)

    def _sync_settings(self):
        config = self.config
        return int(config['sync_slop'] * 1e9), config['sync_queue'], config['sync_timeout']

    def _start_input(self):
        config = self.config
        self._inputs = [
            CameraInput(self, Detection2DArray, 'detections',
                        lambda msg: self._pairer.add_primary(stamp_ns(msg.header.stamp), msg),
                        self.stats, config['qos'], config['qos_depth'],
                        decode=lambda data: deserialize_checked(data, Detection2DArray)),
            *(CameraInput(self, Image, depth_topic(metric), self._depth_handler(metric),
                          self.depth_stats, config['qos'], config['qos_depth'],
                          decode=lambda data: decode_image(data, Image))
              for metric in (True, False))]
        for subscription in self._inputs:
            subscription.start()
        self._expiry = self.create_timer(EXPIRY_PERIOD_S, self.contained(
            self._pairer.expire, 'expiry of detections waiting for depth'))
        self._info_sub = self.subscribe_checked(
            CameraInfo, 'depth/camera_info', self._on_camera_info, stream_qos('best_effort', 5))

    def _depth_handler(self, metric: bool):
        def on_depth(msg):
            self._pairer.add_secondary(stamp_ns(msg.header.stamp), (msg, metric))
        return on_depth

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        destroy_publishers(self, self._pubs)
        self._pairer = None
        return OK

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self._stop_input()
        return OK

    def _stop_input(self):
        for subscription in self._inputs:
            subscription.stop()
        self._inputs = []
        if self._expiry is not None:
            self.destroy_timer(self._expiry)
            self._expiry = None
        if self._info_sub is not None:
            self.destroy_subscription(self._info_sub)
            self._info_sub = None

    def _on_camera_info(self, msg: CameraInfo):
        self._camera_info = msg

    # data path ---------------------------------------------------------------
    def _locate(self, detections: Detection2DArray, depth_and_kind):
        started = time.perf_counter()
        depth_msg, self._metric = depth_and_kind
        try:
            depth = image_to_depth(depth_msg)
        except BadImageError as error:
            self.stats.bad(error.category)
            self.get_logger().warning(f'bad depth frame ({error.category}), distances '
                                      f'unknown: {error}', throttle_duration_sec=THROTTLE_S)
            depth = None
        intrinsics = self._intrinsics(depth.shape) if depth is not None else None
        self._publish(detections, depth, intrinsics, started)

    def _unmatched(self, detections: Detection2DArray):
        self.stats.count('unmatched')
        self.get_logger().warning('no depth frame within sync_slop of the detections at '
                                  f'{stamp_ns(detections.header.stamp)} ns: distances unknown',
                                  throttle_duration_sec=THROTTLE_S)
        self._publish(detections, None, None, time.perf_counter())

    def _intrinsics(self, shape) -> Optional[Intrinsics]:
        try:
            intrinsics = depth_intrinsics(self._camera_info, self._metric, shape)
        except ValueError as error:
            self._info_problem = f'{error}: x and y of objects unknown'
            self.get_logger().warning(self._info_problem, throttle_duration_sec=THROTTLE_S)
            return None
        self._info_problem = None
        return intrinsics

    def _publish(self, detections: Detection2DArray, depth, intrinsics: Optional[Intrinsics],
                 started: float):
        if len(detections.detections) > MAX_DETECTIONS:
            self.stats.count('detections_cut', len(detections.detections) - MAX_DETECTIONS)
            self.get_logger().warning(f'{len(detections.detections)} detections in one message: '
                                      f'only the first {MAX_DETECTIONS} are located',
                                      throttle_duration_sec=THROTTLE_S)
            del detections.detections[MAX_DETECTIONS:]
        located, labelled = locate(detections, depth, intrinsics,
                                   self.config['central_fraction'],
                                   self.config['min_valid_fraction'])
        publish_start = time.perf_counter()
        self._pubs['detections'].publish(located)
        unit = 'm' if self._metric else 'rel'
        self._pubs['markers'].publish(distance_markers(located, labelled, unit,
                                                       self.config['marker_lifetime']))
        self.stats.served({'distance': (publish_start - started) * 1e3,
                           'publish': (time.perf_counter() - publish_start) * 1e3},
                          stamp_latency_ms(self.get_clock(), located.header.stamp))

    def _publish_diagnostics(self):
        warnings = []
        if self._metric and self._camera_info is None and self._inputs:
            warnings.append('no depth/camera_info yet: x and y of objects unknown')
        if self._info_problem:
            warnings.append(self._info_problem)
        kinds = {True: 'metric (m)', False: 'relative inverse depth', None: 'none received yet'}
        info = {'depth_frames_received': str(self.depth_stats.counts['received']),
                'depth_type': kinds[self._metric],
                'unmatched': str(self.stats.counts['unmatched']),
                'detections_cut': str(self.stats.counts['detections_cut'])}
        if self._inputs:
            detections, *depths = self._inputs
            warnings += detections.problems(self.config['input_timeout'])
            # One depth topic is enough: the other kind has no publisher on purpose.
            silent = [d.problems(self.config['input_timeout']) for d in depths]
            if all(silent):
                warnings += silent[0]
        self.publish_status('distance', info, warnings)


def main(args=None) -> int:
    return run_node(DistanceNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
