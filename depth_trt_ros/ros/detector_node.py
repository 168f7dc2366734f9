"""
detector_node: camera images in, YOLO detections out, as a managed node.

Publishes ``detections`` (vision_msgs/Detection2DArray, the image's header,
an empty array for a frame without objects) and, only while someone
subscribes, ``detections/image`` with the boxes drawn.
"""
from dataclasses import dataclass
import time
from typing import List, Optional

from rclpy.lifecycle import State, TransitionCallbackReturn
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2DArray

from depth_trt_ros.inference.detection.build import build_detector, detection_settings
from depth_trt_ros.inference.detection.draw import draw_detections
from depth_trt_ros.inference.detection.yolo import PendingDetections
from depth_trt_ros.ros.camera_input import CameraInput
from depth_trt_ros.ros.conversions import BadImageError, fill_image, message_to_pixels, \
    Pixels
from depth_trt_ros.ros.detection_msgs import to_detection2d_array
from depth_trt_ros.ros.detection_params import DETECTOR_SPECS
from depth_trt_ros.ros.diagnostics import stamp_latency_ms
from depth_trt_ros.ros.image_cdr import decode_image
from depth_trt_ros.ros.managed_node import describe_error, destroy_publishers, ManagedNode, \
    OK, THROTTLE_S
from depth_trt_ros.ros.params import read_parameters
from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.ros.runtime import run_node
from depth_trt_ros.ros.wire import MalformedMessage
from depth_trt_ros.ros.worker import Mailbox, Pipeline

STAGES = ('convert', 'preprocess', 'infer', 'postprocess', 'publish')


@dataclass
class _Job:
    """A frame launched on the detector, to be collected and published."""

    msg: object
    pixels: Pixels
    pending: PendingDetections
    convert_ms: float


class DetectorNode(ManagedNode):
    """Subscribes ``image`` (or ``image/compressed``), publishes ``detections``."""

    def __init__(self, node_name: str = 'detector_node', **kwargs):
        super().__init__(node_name, STAGES, **kwargs)
        self.declare_specs(DETECTOR_SPECS)
        self.config = None
        self.detector = None
        self._mailbox = Mailbox()
        self._pipeline = None
        self._camera = None
        self._pubs = {}
        self.start_if_autostart()

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        try:
            self.config = read_parameters(self, DETECTOR_SPECS)
            self.detector = build_detector(self.config, self.get_logger().info)
        except Exception as error:  # a failed transition must say why, whatever was raised
            return self.configure_failed(error)
        self.startup_error = None
        qos = stream_qos(self.config['output_qos'], 5)
        self._pubs = {'detections': self.create_lifecycle_publisher(
                          Detection2DArray, 'detections', qos),
                      'image': self.create_lifecycle_publisher(Image, 'detections/image', qos)}
        return OK

    @property
    def configured(self) -> bool:
        return self.detector is not None

    def effective_parameters(self):
        return dict(self.config or {})

    def apply_parameters(self, updated) -> Optional[str]:
        """Apply detection settings from the next frame on; a new camera input if it changed."""
        config = dict(self.config, **updated)
        self.detector.settings = detection_settings(config, self.detector.class_names)
        self.config = config
        if self._camera is not None and self.changes_input(updated):
            self._camera.stop()
            self._start_camera()
        return None

    def _start_camera(self):
        compressed = self.config['image_transport'] == 'compressed'
        self._msg_type = CompressedImage if compressed else Image
        self._camera = CameraInput(
            self, self._msg_type, 'image/compressed' if compressed else 'image',
            self._on_image, self.stats, self.config['qos'], self.config['qos_depth'],
            gated=True)
        self._camera.start()

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        self._start_camera()
        # Overlapped: frame N is collected and published while the device runs N+1.
        self._pipeline = Pipeline(self._mailbox, self._launch, self._finish,
                                  lambda error: self.contain(error, 'detection thread'),
                                  self.fail, overlap=self.detector.pipelined)
        self._pipeline.start()
        return super().on_activate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        destroy_publishers(self, self._pubs)
        self._release()
        return OK

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self._stop_input()
        self._release()
        return OK

    def _release(self):
        if self.detector is not None:
            self.detector.close()
            self.detector = None

    def _stop_input(self):
        if self._camera is not None:
            self._camera.stop()
            self._camera = None
        if self._pipeline is not None:
            self._pipeline.stop()
            self._pipeline = None
        self.stats.count('dropped', len(self._mailbox.clear()))

    def _on_image(self, data: bytes):
        """Subscription callback: hand the (still serialized) frame to the inference thread."""
        if self._mailbox.put('image', data):
            self.stats.count('dropped')

    def _launch(self, items) -> List[_Job]:
        if self._camera is not None:
            # The next frame may come in while this one is processed, not more.
            self._camera.resume()
        jobs = []
        for _, data in items:
            started = time.perf_counter()
            try:
                msg, pixels = self._convert(data)
            except BadImageError as error:
                self.stats.bad(error.category)
                self.get_logger().warning(f'bad frame skipped ({error.category}): {error}',
                                          throttle_duration_sec=THROTTLE_S)
                continue
            except MalformedMessage as error:
                self.count_malformed(error, 'image')
                continue
            convert_ms = (time.perf_counter() - started) * 1e3
            try:
                pending = self.detector.launch(pixels.array, pixels.bgr)
            except Exception as error:  # noqa: B902 - one frame's fault stays that frame's
                self._failed(error)
                continue
            jobs.append(_Job(msg, pixels, pending, convert_ms))
        return jobs

    def _failed(self, error: Exception):
        self.stats.count('failed')
        self.get_logger().error(f'detection failed, frame skipped: {describe_error(error)}',
                                throttle_duration_sec=THROTTLE_S)

    def _convert(self, data: bytes):
        """Return the frame's message and pixels; raises for a bad frame."""
        msg = decode_image(data, self._msg_type)
        return msg, message_to_pixels(msg)

    def _finish(self, job: _Job):
        """Wait for a launched frame's detections and publish them."""
        try:
            detections = job.pending.collect()
        except Exception as error:  # noqa: B902 - a device error surfaces when waited for
            self._failed(error)
            return
        started = time.perf_counter()
        header = job.msg.header
        self._pubs['detections'].publish(to_detection2d_array(detections, header))
        if self._pubs['image'].get_subscription_count() > 0:
            annotated = draw_detections(job.pixels.rgb(), detections)
            self._pubs['image'].publish(fill_image(Image(), annotated, 'bgr8', header))
        timings = dict(detections.timings_ms, convert=job.convert_ms,
                       publish=(time.perf_counter() - started) * 1e3)
        self.stats.served(timings, stamp_latency_ms(self.get_clock(), header.stamp))

    def _publish_diagnostics(self):
        warnings = []
        info = self.detector.describe() if self.detector is not None else {}
        if self._camera is not None:
            info['input_topic'] = self._camera.topic
            warnings += self._camera.problems(self.config['input_timeout'])
        self.publish_status('detection', info, warnings)


def main(args=None) -> int:
    return run_node(DetectorNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
