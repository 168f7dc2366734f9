"""
depth_node: camera images in, Depth-Anything-V2 depth out, as a managed node.

configure  = parameters checked, model loaded and warmed up
activate   = subscriptions and publishers live, worker thread running
deactivate = processing stops, model kept
cleanup    = model released, GPU memory freed
"""
import time

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from rcl_interfaces.msg import SetParametersResult
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from depth_trt_ros.inference.service import DepthService
from depth_trt_ros.ros import params
from depth_trt_ros.ros.camera_input import CameraInput
from depth_trt_ros.ros.conversions import BadImageError, compressed_to_rgb, fill_image, \
    image_to_rgb
from depth_trt_ros.ros.diagnostics import NodeStats, to_status
from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.ros.runtime import ros_context, spin
from depth_trt_ros.ros.worker import LatestSlot, Worker

STAGES = ('convert', 'preprocess', 'infer', 'postprocess', 'publish')
_OK = TransitionCallbackReturn.SUCCESS
_FAIL = TransitionCallbackReturn.FAILURE


class DepthNode(LifecycleNode):
    """Subscribes ``image`` (or ``image/compressed``), publishes ``depth`` and friends."""

    def __init__(self, node_name: str = 'depth_node', **kwargs):
        super().__init__(node_name, **kwargs)
        params.declare_all(self)
        self.stats = NodeStats(STAGES)
        self.config = None
        self.service = None
        self.startup_error = None
        self.state_label = 'unconfigured'
        self._slot = LatestSlot()
        self._worker = None
        self._camera = None
        self._info_sub = None
        self._camera_info = None
        self._frame_counter = 0
        self._pubs = {}
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._diag_timer = self.create_timer(1.0, self._publish_diagnostics)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        if self.get_parameter('autostart').value:
            self.trigger_configure()
            if self.startup_error is None:
                self.trigger_activate()

    # lifecycle -------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        try:
            self.config = params.read_config(self)
            self.service = DepthService.load(self.config, self.get_logger().info)
        except Exception as error:  # noqa: B902 - rclpy drops transition exceptions unlogged
            self.startup_error = str(error)
            self.get_logger().error(f'cannot configure: {error}')
            return _FAIL
        self.startup_error = None
        self.state_label = 'inactive'
        output_qos = stream_qos(self.config.output_qos, 5)
        for name, msg_type in (('depth', Image), ('depth/colorized', Image),
                               ('depth/camera_info', CameraInfo)):
            self._pubs[name] = self.create_lifecycle_publisher(msg_type, name, output_qos)
        return _OK

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        compressed = self.config.image_transport == 'compressed'
        self._camera = CameraInput(
            self, CompressedImage if compressed else Image,
            'image/compressed' if compressed else 'image', self._on_image, self.stats,
            self.config.qos, self.config.qos_depth)
        self._camera.start()
        self._info_sub = self.create_subscription(
            CameraInfo, 'camera_info', self._on_camera_info, stream_qos('best_effort', 5))
        self._worker = Worker(self._slot, self._process, 'depth-inference')
        self._worker.start()
        self.state_label = 'active'
        return super().on_activate(state)

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self._stop_input()
        self.state_label = 'inactive'
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        for publisher in self._pubs.values():
            self.destroy_publisher(publisher)
        self._pubs.clear()
        freed = self.service.release()
        self.service = None
        self.state_label = 'unconfigured'
        self.get_logger().info(f'model released, {freed / 2**20:.1f} MiB of device memory freed')
        return _OK

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self._stop_input()
        if self.service is not None:
            self.service.release()
            self.service = None
        self.state_label = 'finalized'
        return _OK

    def _stop_input(self):
        if self._camera is not None:
            self._camera.stop()
            self._camera = None
        if self._info_sub is not None:
            self.destroy_subscription(self._info_sub)
            self._info_sub = None
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        if self._slot.clear():
            self.stats.count('dropped')

    # parameters ------------------------------------------------------------
    def _on_set_parameters(self, changes) -> SetParametersResult:
        for change in changes:
            problem = params.check_value(change.name, change.value)
            if problem:
                return SetParametersResult(successful=False, reason=problem)
        if self.service is None:
            return SetParametersResult(successful=True)
        updated = {p.name: p.value for p in changes}
        try:
            config = params.replace(self.config, updated)
            if any(params.needs_reload(name) for name in updated):
                self.service.reload(config, self.get_logger().info)
        except (ValueError, RuntimeError) as error:
            return SetParametersResult(successful=False, reason=f'rejected, kept the running '
                                       f'model: {error}')
        self._apply(config)
        return SetParametersResult(successful=True)

    def _apply(self, config):
        old, self.config = self.config, config
        self.service.set_colormap(config.colormap)
        if self._camera is not None and config.qos != old.qos:
            self._camera.set_reliability(config.qos)

    # data path ---------------------------------------------------------------
    def _on_camera_info(self, msg: CameraInfo):
        self._camera_info = msg

    def _on_image(self, msg):
        skip = self.config.frame_skip
        self._frame_counter += 1
        if skip and (self._frame_counter - 1) % (skip + 1):
            self.stats.count('skipped')
            return
        if self._slot.put((msg, time.perf_counter())):
            self.stats.count('dropped')

    def _process(self, item):
        msg, _ = item
        started = time.perf_counter()
        try:
            frame = compressed_to_rgb(msg) if isinstance(msg, CompressedImage) \
                else image_to_rgb(msg)
        except BadImageError as error:
            self.stats.bad(error.category)
            self.get_logger().warning(f'bad frame skipped ({error.category}): {error}',
                                      throttle_duration_sec=5.0)
            return
        convert_ms = (time.perf_counter() - started) * 1e3
        colorized = self._pubs['depth/colorized']
        want_color = self.config.publish_colorized and colorized.get_subscription_count() > 0
        try:
            result = self.service.estimate(frame, want_color)
        except RuntimeError as error:
            self.stats.count('failed')
            self.get_logger().error(f'inference failed, frame skipped: {error}',
                                    throttle_duration_sec=5.0)
            return
        publish_start = time.perf_counter()
        self._pubs['depth'].publish(fill_image(Image(), result.depth, '32FC1', msg.header))
        if result.colorized is not None:
            colorized.publish(fill_image(Image(), result.colorized, 'bgr8', msg.header))
            self.stats.count('colorized')
        if self._camera_info is not None:
            info = self._camera_info
            info.header = msg.header
            self._pubs['depth/camera_info'].publish(info)
        timings = dict(result.timings_ms, convert=convert_ms,
                       publish=(time.perf_counter() - publish_start) * 1e3)
        self.stats.served(timings, self._latency_ms(msg.header.stamp))

    def _latency_ms(self, stamp) -> float:
        if stamp.sec == 0 and stamp.nanosec == 0:
            return float('nan')
        now = self.get_clock().now().nanoseconds
        return (now - (stamp.sec * 10**9 + stamp.nanosec)) / 1e6

    # diagnostics -------------------------------------------------------------
    def _publish_diagnostics(self):
        warnings, errors = [], []
        if self.startup_error:
            errors.append(self.startup_error)
        info = {'state': self.state_label}
        if self.service is not None:
            info.update(self.service.describe())
        if self._camera is not None:
            info['input_topic'] = self._camera.topic
            info['input_reliability'] = self._camera.reliability or ''
            for reason in (self._camera.qos_problem,
                           self._camera.silence_reason(self.config.input_timeout)):
                if reason:
                    warnings.append(reason)
        if self.stats.counts['lost_in_transport']:
            warnings.append(f"{self.stats.counts['lost_in_transport']} frame(s) lost in "
                            'transport')
        name = self.get_fully_qualified_name()
        status = to_status(f'{name}: depth', name, self.stats, info, warnings, errors)
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics.publish(msg)


def main(args=None) -> int:
    with ros_context(args):
        node = DepthNode()
        if node.startup_error is not None:
            node.get_logger().fatal(f'refusing to start: {node.startup_error}')
            node.destroy_node()
            return 1
        spin([node])
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
