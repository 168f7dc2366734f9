"""
depth_node: camera images in, Depth-Anything-V2 depth out, as a managed node.

configure  = parameters checked, model loaded and warmed up, publishers made
activate   = subscriptions live, inference thread running
deactivate = processing stops, model kept
cleanup    = model released, GPU memory freed

A frame that cannot be read or run is counted by reason and skipped; see
ManagedNode for how faults are contained and when the node gives up.
"""
from collections import defaultdict
from dataclasses import asdict, dataclass
import time
from typing import Iterable, List, Optional

from rclpy.lifecycle import State, TransitionCallbackReturn

from depth_trt_ros.inference.backends import UnsupportedFrameSize
from depth_trt_ros.inference.estimator import DepthResult, PendingDepth
from depth_trt_ros.inference.service import DepthService
from depth_trt_ros.ros import params
from depth_trt_ros.ros.camera_channel import CameraChannel
from depth_trt_ros.ros.conversions import BadImageError, message_to_pixels, Pixels
from depth_trt_ros.ros.diagnostics import process_rss_bytes, stamp_latency_ms
from depth_trt_ros.ros.image_cdr import decode_image
from depth_trt_ros.ros.managed_node import describe_error, ManagedNode, OK, THROTTLE_S
from depth_trt_ros.ros.model_reload import ModelReload
from depth_trt_ros.ros.runtime import run_node
from depth_trt_ros.ros.wire import MalformedMessage
from depth_trt_ros.ros.worker import Mailbox, Pipeline

STAGES = ('convert', 'preprocess', 'infer', 'postprocess', 'publish')


@dataclass
class _Frame:
    channel: CameraChannel
    msg: object
    pixels: Pixels
    convert_ms: float


@dataclass
class _Job:
    """A batch of frames of one camera size, launched on the estimator."""

    frames: List[_Frame]
    pending: PendingDepth


class DepthNode(ManagedNode):
    """Subscribes ``image`` (or several ``image_topics``), publishes ``depth`` and friends."""

    def __init__(self, node_name: str = 'depth_node', **kwargs):
        super().__init__(node_name, STAGES, **kwargs)
        self.declare_specs(params.SPECS)
        self.config = None
        self.service = None
        self.state_label = 'unconfigured'
        self._channels: List[CameraChannel] = []
        self._mailbox = Mailbox()
        self._pipeline = None
        self._reload = ModelReload(self)
        self.add_post_set_parameters_callback(self._reload.launch_pending)
        self.start_if_autostart()

    # lifecycle -------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        try:
            self.config = params.read_config(self)
            self.service = DepthService.load(self.config, self.get_logger().info,
                                             params.check_outputs(self.config))
        except Exception as error:  # a failed transition must say why, whatever the loader raised
            return self.configure_failed(error)
        self.startup_error = None
        self._channels = [CameraChannel(self, topic, self.config, self.service.metric,
                                        self.stats, self._on_image)
                          for topic in self.config.image_topics]
        self.state_label = 'inactive'
        return OK

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        for channel in self._channels:
            channel.start(self.config)
        self._pipeline = Pipeline(self._mailbox, self._launch, self._finish,
                                  lambda error: self.contain(error, 'inference thread'),
                                  self.fail, overlap=self.service.pipelined)
        self._pipeline.start()
        self.state_label = 'active'
        return super().on_activate(state)

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self.state_label = 'inactive'
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        self._reload.wait()
        for channel in self._channels:
            channel.destroy()
        self._channels = []
        rss_before = process_rss_bytes()
        freed = self.service.release()
        self.service = None
        self.state_label = 'unconfigured'
        self.get_logger().info(
            f'model released: {freed / 2**20:.1f} MiB of device memory and '
            f'{(rss_before - process_rss_bytes()) / 2**20:.1f} MiB of process memory freed')
        return OK

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self._stop_input()
        self._reload.wait()
        if self.service is not None:
            self.service.release()
            self.service = None
        self.state_label = 'finalized'
        return OK

    def _stop_input(self):
        for channel in self._channels:
            channel.stop()
        if self._pipeline is not None:
            self._pipeline.stop()
            self._pipeline = None
        for channel, _ in self._mailbox.clear():
            self.stats.count('dropped', channel=channel.label)

    # parameters ------------------------------------------------------------
    @property
    def configured(self) -> bool:
        return self.service is not None

    def effective_parameters(self):
        return asdict(self.config) if self.config is not None else {}

    def apply_parameters(self, updated) -> Optional[str]:
        """
        Apply a change now, or start loading the model it needs.

        A model change is loaded on another thread while the running model
        serves; ModelReload sets the parameters back if the new model fails.
        """
        config = params.replace(self.config, updated)
        reload = {name: value for name, value in updated.items()
                  if params.SPECS[name].needs_reload and getattr(self.config, name) != value}
        if reload:
            problem = self._reload.start(config, reload)
            if problem:
                return problem
            config = params.replace(config, {name: getattr(self.config, name)
                                             for name in reload})
        old, self.config = self.config, config
        self.service.set_colormap(config.colormap)
        if self.state_label == 'active' and self.changes_input(
                {name: value for name, value in updated.items()
                 if getattr(old, name) != value}):
            for channel in self._channels:
                channel.stop()
                channel.start(config)
        return None

    # data path ---------------------------------------------------------------
    def _on_image(self, channel: CameraChannel, data: bytes):
        """Subscription callback: hand the (still serialized) frame to the inference thread."""
        channel.frame_counter += 1
        skip = self.config.frame_skip
        if skip and (channel.frame_counter - 1) % (skip + 1):
            self.stats.count('skipped', channel=channel.label)
            channel.resume()
        elif self._mailbox.put(id(channel), (channel, data)):
            self.stats.count('dropped', channel=channel.label)

    def _launch(self, items) -> List[_Job]:
        """Convert every waiting frame, then launch same-sized frames as one batch."""
        groups = defaultdict(list)
        for _, (channel, data) in items:
            # The next frame may come in while this one is processed, not more.
            channel.resume()
            try:
                frame = self._convert(channel, data)
                if frame is not None:
                    height, width = frame.pixels.array.shape[:2]
                    outputs = channel.outputs.requested(width, height, self.config)
                    groups[(frame.pixels.array.shape, frame.pixels.bgr, outputs)].append(frame)
            except Exception as error:  # noqa: B902 - one frame's fault stays that frame's
                self._failed([channel.label], error)
        jobs = []
        for (_, bgr, outputs), frames in groups.items():
            for start in range(0, len(frames), self.config.max_batch):
                batch = frames[start:start + self.config.max_batch]
                self.stats.count('inference_calls')
                try:
                    pending = self.service.launch_batch([f.pixels.array for f in batch],
                                                        outputs, bgr)
                except UnsupportedFrameSize as error:
                    for frame in batch:
                        self.stats.bad('outside_engine_profile', frame.channel.label)
                    self.get_logger().warning(f'frame(s) skipped: {error}',
                                              throttle_duration_sec=THROTTLE_S)
                    continue
                except Exception as error:  # noqa: B902 - e.g. device out of memory
                    self._failed([f.channel.label for f in batch], error)
                    continue
                jobs.append(_Job(batch, pending))
        return jobs

    def _finish(self, job: _Job):
        """Wait for a launched batch and publish it."""
        try:
            results = job.pending.collect()
        except Exception as error:  # noqa: B902 - a device error surfaces when waited for
            self._failed([f.channel.label for f in job.frames], error)
            return
        for frame, result in zip(job.frames, results):
            try:
                self._publish(frame, result)
            except Exception as error:  # noqa: B902 - one frame's fault stays that frame's
                self._failed([frame.channel.label], error)

    def _failed(self, channels: Iterable[str], error: Exception):
        for channel in channels:
            self.stats.count('failed', channel=channel)
        self.get_logger().error(f'frame(s) failed and were skipped: {describe_error(error)}',
                                throttle_duration_sec=THROTTLE_S)

    def _convert(self, channel, data: bytes):
        started = time.perf_counter()
        try:
            msg = decode_image(data, channel.msg_type)
        except MalformedMessage as error:
            self.count_malformed(error, channel.image_topic, channel.label)
            return None
        except RuntimeError as error:  # rclpy refusing what the check let through
            self.stats.bad('decode', channel.label)
            self.get_logger().warning(f'undecodable message skipped: {describe_error(error)}',
                                      throttle_duration_sec=THROTTLE_S)
            return None
        try:
            pixels = message_to_pixels(msg)
        except BadImageError as error:
            self.stats.bad(error.category, channel.label)
            self.get_logger().warning(f'bad frame skipped ({error.category}): {error}',
                                      throttle_duration_sec=THROTTLE_S)
            return None
        return _Frame(channel, msg, pixels, (time.perf_counter() - started) * 1e3)

    def _publish(self, frame: _Frame, result: DepthResult):
        started = time.perf_counter()
        header = frame.msg.header
        channel = frame.channel
        self.stats.count('colorized', channel.outputs.publish(header, result), channel.label)
        timings = dict(result.timings_ms, convert=frame.convert_ms,
                       publish=(time.perf_counter() - started) * 1e3)
        self.stats.served(timings, stamp_latency_ms(self.get_clock(), header.stamp),
                          channel.label)

    # diagnostics -------------------------------------------------------------
    def _publish_diagnostics(self):
        warnings = []
        info = {'state': self.state_label,
                'process_rss_mb': f'{process_rss_bytes() / 2**20:.1f}'}
        if self.service is not None:
            info.update(self.service.describe())
            info['device_memory_mb'] = f'{self.service.device_memory_bytes() / 2**20:.1f}'
        info.update(self._reload.describe())
        warnings += self._reload.problems()
        for channel in self._channels:
            suffix = f'[{channel.label}]' if len(self._channels) > 1 else ''
            warnings += self._channel_status(channel, suffix, info)
        if self.stats.counts['lost_in_transport']:
            warnings.append(f"{self.stats.counts['lost_in_transport']} frame(s) lost in "
                            'transport')
        self.publish_status('depth', info, warnings)

    def _channel_status(self, channel: CameraChannel, suffix: str, info) -> List[str]:
        """Add one camera's keys to ``info``; return its warnings."""
        warnings = []
        if channel.outputs.points_problem:
            warnings.append(f'points{suffix} are not published: {channel.outputs.points_problem}')
        camera = channel.input
        if camera is None:
            return warnings
        info[f'input_topic{suffix}'] = camera.topic
        info[f'input_reliability{suffix}'] = camera.reliability or ''
        if camera.last_sequence is not None:
            info[f'input_sequence_first{suffix}'] = str(camera.first_sequence)
            info[f'input_sequence_last{suffix}'] = str(camera.last_sequence)
        return warnings + camera.problems(self.config.input_timeout)


def main(args=None) -> int:
    return run_node(DepthNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
