"""
Offline depth over a recorded bag: image topics in, depth topics out, as fast as it runs.

``BagReplay`` is the reusable core (the ``replay`` and ``bench`` tools call it):
it reads a rosbag2, converts each frame with the node's conversion module,
runs a :class:`DepthService`, and writes what depth_node would have published
with the recorded stamps, frame ids and bag times, plus ``/diagnostics``.
Given a YOLO detector, it also writes what detector_node and distance_node
would have published for the frame (see bag_detections).
A frame that cannot be decoded is counted by reason and skipped.
"""
from collections import Counter
from dataclasses import replace
import time
from typing import Callable, Dict, List, Optional, Sequence

from diagnostic_msgs.msg import DiagnosticArray

from depth_trt_ros.inference.detection.yolo import YoloDetector
from depth_trt_ros.inference.estimator import Outputs, require_metric
from depth_trt_ros.inference.service import DepthService
from depth_trt_ros.ros.conversions import BadImageError, message_to_pixels
from depth_trt_ros.ros.depth_outputs import result_messages
from depth_trt_ros.ros.diagnostics import NodeStats, to_status
from depth_trt_ros.ros.pointcloud import intrinsics_for
from depth_trt_ros.ros.topics import channel_prefix
from depth_trt_ros.ros.wire import MalformedMessage
from depth_trt_ros.tools.recorded.bags import BagReader, BagWriter, CAMERA_INFO_TYPE, IMAGE_TYPES
from depth_trt_ros.tools.recorded.replay_report import ReplayReport, STAGES


def namespace_of(image_topic: str) -> str:
    """``/cam/image`` and ``/cam/image/compressed`` -> ``/cam`` (where depth_node would run)."""
    return channel_prefix(image_topic.removesuffix('/compressed'))


def choose_image_topics(available: Dict[str, str], requested: Sequence[str] = ()) -> List[str]:
    """
    Return the image topics to process: ``requested``, or one per namespace (raw first).

    Two chosen topics in one namespace would write into the same depth topic,
    so that is refused with the way out.
    """
    images = {t: kind for t, kind in available.items() if kind in IMAGE_TYPES}
    if requested:
        missing = [t for t in requested if t not in images]
        if missing:
            raise ValueError(f"no image topic {', '.join(missing)} in the bag; image topics: "
                             f"{', '.join(sorted(images)) or 'none'}")
        chosen = list(requested)
    else:
        by_namespace = {}
        for topic in sorted(images, key=lambda t: t.endswith('/compressed')):
            by_namespace.setdefault(namespace_of(topic), topic)
        chosen = sorted(by_namespace.values())
    if not chosen:
        raise ValueError('the bag has no sensor_msgs/Image or CompressedImage topic')
    namespaces = Counter(namespace_of(t) for t in chosen)
    clashes = [ns or '/' for ns, n in namespaces.items() if n > 1]
    if clashes:
        raise ValueError(f"several chosen topics in namespace {', '.join(clashes)} would share "
                         'one depth topic: pass --topics with one image topic per namespace')
    return chosen


class BagReplay:
    """Runs depth over the image topics of a bag and writes the results to another bag."""

    def __init__(self, service: DepthService, colorized: bool = False, depth_mm: bool = False,
                 points: bool = False, diagnostics_period_s: float = 1.0,
                 detector: Optional[YoloDetector] = None):
        if depth_mm or points:
            require_metric(service.metric, service.describe()['model'],
                           'leave out --depth-mm and --points (random:small-metric tests them)')
        self.service = service
        self.detections = None
        if detector is not None:
            # Imported here: it needs vision_msgs, which a depth-only replay does not.
            from depth_trt_ros.tools.recorded.bag_detections import BagDetections
            self.detections = BagDetections(detector, service.metric)
        self.outputs = Outputs(colorized=colorized, depth_mm=depth_mm)
        self.points = points
        self.diagnostics_period_ns = int(diagnostics_period_s * 1e9)

    def outputs_for(self, frame, camera_info) -> Outputs:
        """Return the views to compute; points need the camera's intrinsics, as in the node."""
        if not self.points or camera_info is None:
            return self.outputs
        height, width = frame.shape[:2]
        return replace(self.outputs, intrinsics=intrinsics_for(camera_info, width, height))

    def run(self, in_bag, out_bag, topics: Sequence[str] = (), storage: Optional[str] = None,
            on_frame: Callable[[], None] = lambda: None) -> ReplayReport:
        """Replay ``in_bag`` into ``out_bag``; ``on_frame`` is called once per image read."""
        with BagReader(in_bag) as reader:
            image_topics = choose_image_topics(reader.topics, topics)
            info_topics = {f'{namespace_of(t)}/camera_info' for t in image_topics}
            info_topics &= {t for t, kind in reader.topics.items() if kind == CAMERA_INFO_TYPE}
            with BagWriter(out_bag, storage or reader.storage) as writer:
                run = _Run(self, reader, writer)
                run.copy_and_process(image_topics, info_topics, on_frame)
        return run.report

    @staticmethod
    def count_frames(in_bag, topics: Sequence[str] = ()) -> int:
        with BagReader(in_bag) as reader:
            return reader.count(choose_image_topics(reader.topics, topics))


class _Run:
    """The state of one replay: latest camera info per namespace, stats, next diagnostics."""

    def __init__(self, replay: BagReplay, reader: BagReader, writer: BagWriter):
        self.replay = replay
        self.reader = reader
        self.writer = writer
        self.stats = NodeStats(STAGES)
        self.report = ReplayReport(
            description=replay.service.describe(),
            detection=replay.detections.new_report() if replay.detections else None)
        self.camera_info = {}
        self.next_diagnostics_ns = None

    def copy_and_process(self, image_topics, info_topics, on_frame):
        started = time.perf_counter()
        read_start, last_timestamp = started, None
        for message in self.reader.messages(set(image_topics) | info_topics):
            read_ms = (time.perf_counter() - read_start) * 1e3
            self.writer.copy(message, self.reader)
            if message.topic in info_topics:
                self._keep_camera_info(message)
            else:
                try:
                    self._process(message, read_ms)
                except Exception:  # noqa: B902 - one frame's fault stays that frame's, as in
                    self._bad('failed')  # the node: counted, and the replay goes on
                on_frame()
            self._maybe_write_diagnostics(message.timestamp)
            last_timestamp = message.timestamp
            read_start = time.perf_counter()
        self.report.elapsed_s = time.perf_counter() - started
        if last_timestamp is not None:
            self._write_diagnostics(last_timestamp)

    def _process(self, message, read_ms: float):
        self.report.frames_read += 1
        self.stats.received()
        started = time.perf_counter()
        try:
            msg = message.decode()
        except (MalformedMessage, RuntimeError) as error:  # RuntimeError: rclpy's refusal
            self._bad(getattr(error, 'category', 'deserialize'))
            return
        try:
            pixels = message_to_pixels(msg)
        except BadImageError as error:
            self._bad(error.category)
            return
        convert_ms = (time.perf_counter() - started) * 1e3
        namespace = namespace_of(message.topic)
        camera_info = self.camera_info.get(namespace)
        try:
            outputs = self.replay.outputs_for(pixels.array, camera_info)
            result, = self.replay.service.estimate_batch([pixels.array], outputs, pixels.bgr)
        except (RuntimeError, ValueError):  # e.g. out of device memory, as in the node
            self._bad('inference')
            return
        write_start = time.perf_counter()
        depth_messages = result_messages(msg.header, result, camera_info)
        self._write(namespace, message.timestamp, depth_messages)
        timings = dict(result.timings_ms, read=read_ms, convert=convert_ms,
                       write=(time.perf_counter() - write_start) * 1e3)
        if self.replay.detections is not None:
            self.replay.detections.process(
                msg.header, pixels.rgb(), depth_messages, self.report.detection,
                lambda messages: self._write(namespace, message.timestamp, messages))
        self.report.stages.add(timings)
        self.stats.served(timings, (time.perf_counter() - started) * 1e3 + read_ms)
        self.report.frames_written += 1

    def _write(self, namespace: str, timestamp: int, messages: Dict[str, object]):
        for name, output in messages.items():
            self.writer.write(f'{namespace}/{name}', timestamp, output)

    def _keep_camera_info(self, message):
        try:
            self.camera_info[namespace_of(message.topic)] = message.decode()
        except (MalformedMessage, RuntimeError):
            self._bad('camera_info')

    def _bad(self, reason: str):
        self.stats.bad(reason)
        self.report.bad_by_reason[reason] += 1

    def _maybe_write_diagnostics(self, timestamp: int):
        if self.next_diagnostics_ns is None:
            self.next_diagnostics_ns = timestamp + self.replay.diagnostics_period_ns
        elif timestamp >= self.next_diagnostics_ns:
            self._write_diagnostics(timestamp)
            self.next_diagnostics_ns = timestamp + self.replay.diagnostics_period_ns

    def _write_diagnostics(self, timestamp: int):
        status = to_status('replay: depth', 'depth-trt-ros replay', self.stats,
                           self.report.description, [], [])
        msg = DiagnosticArray(status=[status])
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(timestamp, 10**9)
        self.writer.write('/diagnostics', timestamp, msg)
