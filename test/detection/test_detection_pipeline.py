"""
Depth + YOLO + distance over DDS, from a camera in another process.

``depth-trt-ros pipeline`` runs the three nodes in one process (random tiny
metric depth, a constant-box YOLO gated by brightness); this test process is
the camera and the consumer. White frames give three detections, black ones none.
"""
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from vision_msgs.msg import Detection2DArray, Detection3DArray
from visualization_msgs.msg import Marker, MarkerArray
import yaml

from conftest import Collector, wait_for
from depth_trt_ros.ros.conversions import fill_image
from depth_trt_ros.ros.detection_params import DISTANCE_SPECS
from depth_trt_ros.ros.detector_node import DetectorNode
from depth_trt_ros.ros.distance_node import DistanceNode
from depth_trt_ros.tools.yolo_layout import constant_boxes_model
from detection.test_yolo import BOXES, NAMES, SCORES

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NAMESPACE = f'dy{os.getpid()}'
HEIGHT, WIDTH = 240, 320
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


@pytest.fixture(scope='module')
def pipeline(tmp_path_factory):
    folder = tmp_path_factory.mktemp('pipeline')
    model = constant_boxes_model(folder / 'gated.onnx', BOXES, SCORES, NAMES, gated=True)
    config = {
        '/**/depth_node': {'ros__parameters': {
            'model_path': 'random:tiny-metric', 'device': 'cpu', 'precision': 'fp32',
            'input_size': 140, 'publish_colorized': False}},
        '/**/detector_node': {'ros__parameters': {'model_path': str(model), 'device': 'cpu'}},
        '/**/distance_node': {'ros__parameters': {'sync_slop': 0.05}},
    }
    config_file = folder / 'pipeline.yaml'
    config_file.write_text(yaml.safe_dump(config))
    camera = f'/{NAMESPACE}/camera'
    log = tempfile.NamedTemporaryFile('w+', prefix='pipeline-', suffix='.log')
    process = subprocess.Popen(
        [sys.executable, '-m', 'depth_trt_ros.tools.cli', 'pipeline', '--config',
         str(config_file), '--namespace', NAMESPACE, '--camera-topic', f'{camera}/image_raw',
         '--camera-info-topic', f'{camera}/camera_info'],
        stdout=log, stderr=subprocess.STDOUT, text=True)
    yield process, log
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def camera_info(header) -> CameraInfo:
    info = CameraInfo(header=header, height=HEIGHT, width=WIDTH, distortion_model='plumb_bob')
    info.k = [200.0, 0.0, WIDTH / 2, 0.0, 200.0, HEIGHT / 2, 0.0, 0.0, 1.0]
    return info


def stamp_of(msg):
    # A MarkerArray has no header of its own: its first marker (DELETEALL) carries the frame's.
    header = msg.markers[0].header if isinstance(msg, MarkerArray) else msg.header
    return header.stamp.sec, header.stamp.nanosec


def by_stamp(messages):
    return {stamp_of(m): m for m in messages}


def send_until(ros, publishers, value: int, ready, timeout: float = 60.0):
    """Publish frames of one grey ``value`` until ``ready(stamps sent)`` holds."""
    image_pub, info_pub = publishers
    sent = []

    def publish_and_check():
        header = Image().header
        header.stamp = ros.get_clock().now().to_msg()
        header.frame_id = 'camera_optical'
        info_pub.publish(camera_info(header))
        frame = np.full((HEIGHT, WIDTH, 3), value, dtype=np.uint8)
        image_pub.publish(fill_image(Image(), frame, 'rgb8', header))
        sent.append((header.stamp.sec, header.stamp.nanosec))
        return ready(sent)

    return wait_for(publish_and_check, timeout, interval=0.2)


def outputs_for(collectors, sent, wanted=lambda outputs: True):
    """Messages of every output topic for the first sent stamp that has them all, as wanted."""
    tables = [by_stamp(c.messages) for c in collectors]
    for stamp in sent:
        if all(stamp in table for table in tables):
            outputs = [table[stamp] for table in tables]
            if wanted(outputs):
                return outputs
    return None


def test_frames_give_detections_distances_and_markers_with_their_stamp(ros, pipeline):
    process, log = pipeline
    topic = f'/{NAMESPACE}'
    collectors = [Collector(ros, Detection2DArray, f'{topic}/detections', RELIABLE),
                  Collector(ros, Detection3DArray, f'{topic}/detections_3d', RELIABLE),
                  Collector(ros, MarkerArray, f'{topic}/detections_3d/markers', RELIABLE),
                  Collector(ros, Image, f'{topic}/detections/image', RELIABLE)]
    publishers = (ros.create_publisher(Image, f'{topic}/camera/image_raw', RELIABLE),
                  ros.create_publisher(CameraInfo, f'{topic}/camera/camera_info', RELIABLE))
    started = wait_for(lambda: publishers[0].get_subscription_count() >= 2
                       or process.poll() is not None, 90)
    log.seek(0)
    assert started and process.poll() is None, log.read()

    def placed_in_space(outputs):
        # The first frames may beat camera_info to the distance node: x and y still unknown.
        return outputs[1].detections and all(math.isfinite(d.bbox.center.position.x)
                                             for d in outputs[1].detections)

    white = send_until(ros, publishers, 255,
                       lambda sent: outputs_for(collectors, sent, placed_in_space))
    log.seek(0)
    assert white, log.read()
    detections, located, markers, annotated = white
    assert [d.results[0].hypothesis.class_id for d in detections.detections] == \
        ['person', 'person', 'car']
    assert len(located.detections) == 3 and located.header.frame_id == 'camera_optical'
    for detection in located.detections:
        position = detection.bbox.center.position
        assert position.z > 0 and math.isfinite(position.x) and math.isfinite(position.y)
    texts = [m.text for m in markers.markers if m.type == Marker.TEXT_VIEW_FACING]
    assert len(texts) == 3 and all(t.endswith(' m') for t in texts)
    assert (annotated.encoding, annotated.height, annotated.width) == ('bgr8', HEIGHT, WIDTH)

    black = send_until(ros, publishers, 0, lambda sent: outputs_for(collectors, sent))
    assert black, 'no outputs for a black frame'
    detections, located, markers, _ = black
    assert detections.detections == [] and located.detections == []
    assert [m.action for m in markers.markers] == [Marker.DELETEALL]
    for collector in collectors:
        collector.close()


def test_nodes_refuse_bad_parameters_and_name_the_fix(ros, tmp_path):
    detector = DetectorNode('no_model_detector', context=ros.context,
                            parameter_overrides=[Parameter('model_path', value='')])
    assert 'model_path' in detector.startup_error
    model = constant_boxes_model(tmp_path / 'constant.onnx', BOXES, SCORES, NAMES)
    unknown_class = DetectorNode('unknown_class_detector', context=ros.context,
                                 parameter_overrides=[Parameter('model_path', value=str(model)),
                                                      Parameter('classes', value='car, giraffe')])
    assert "'classes'" in unknown_class.startup_error and 'giraffe' in \
        unknown_class.startup_error
    distance = DistanceNode('bad_distance', context=ros.context, parameter_overrides=[
        Parameter('qos', value='sometimes')])
    assert "'qos'" in distance.startup_error and 'best_effort' in distance.startup_error
    assert set(DISTANCE_SPECS) <= {p for p in distance._parameters}
    for node in (detector, unknown_class, distance):
        node.destroy_node()


def test_lifecycle_transitions_load_and_release(ros, tmp_path):
    model = constant_boxes_model(tmp_path / 'constant.onnx', BOXES, SCORES, NAMES)
    detector = DetectorNode('lifecycle_detector', context=ros.context, parameter_overrides=[
        Parameter('model_path', value=str(model)), Parameter('autostart', value=False)])
    distance = DistanceNode('lifecycle_distance', context=ros.context,
                            parameter_overrides=[Parameter('autostart', value=False)])
    assert detector.detector is None
    for node in (detector, distance):
        for step in ('configure', 'activate', 'deactivate', 'cleanup'):
            assert getattr(node, f'trigger_{step}')() == TransitionCallbackReturn.SUCCESS, step
            if node is detector and step == 'configure':
                assert detector.detector.class_names == NAMES
    assert detector.detector is None
    for node in (detector, distance):
        node.destroy_node()
