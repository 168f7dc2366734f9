"""
``replay --detector``: detections and distances per frame, as the nodes would publish them.

The output bags are read back with rosbags: with rclpy's classes (the real or
test-built vision_msgs) and with rosbags' own decoder from the definitions
the bag carries, whose type hash must be the one rosidl computes.
"""
import json
import math
from pathlib import Path
import sys

import numpy as np
import pytest
from rosbags.typesys import get_types_from_msg, get_typestore, Stores
from sensor_msgs.msg import Image
import vision_msgs

from depth_trt_ros.inference.detection.build import build_detector
from depth_trt_ros.inference.distance import back_project_point, robust_depth
from depth_trt_ros.inference.estimator import DepthResult, STAGES
from depth_trt_ros.inference.geometry import Intrinsics
from depth_trt_ros.ros.conversions import fill_image, image_to_depth, message_to_pixels
from depth_trt_ros.ros.detection_msgs import corner_box
from depth_trt_ros.ros.detection_params import DETECTOR_SPECS, DISTANCE_SPECS
from depth_trt_ros.tools.cli import main as cli_main
from depth_trt_ros.tools.recorded.bag_replay import BagReplay
from depth_trt_ros.tools.recorded.bags import BagReader, BagWriter
from depth_trt_ros.tools.recorded.sample_bag import CAMERA_INFO_TOPIC, COMPRESSED_TOPIC, \
    IMAGE_TOPIC, SAMPLE_NAMESPACE, write_sample_bag
from depth_trt_ros.tools.yolo_layout import constant_boxes_model, tiny_yolo_model
from detection.test_yolo import BOXES, NAMES, SCORES

FRAMES = 3
DETECTIONS = SAMPLE_NAMESPACE + '/detections'
DETECTIONS_3D = SAMPLE_NAMESPACE + '/detections_3d'
BOX_SETTINGS = (DISTANCE_SPECS['central_fraction'].default,
                DISTANCE_SPECS['min_valid_fraction'].default)


class BrightnessDepth:
    """
    Metric depth from the frame's brightness, 1 to 5 m.

    Random-weight depth models give a nearly flat map, in which every box has
    the same distance whatever the region measured; photographs are not flat.
    """

    metric = True

    def describe(self):
        return {'model': 'brightness'}

    def estimate_batch(self, frames, outputs, bgr=False):
        depth = 1.0 + frames[0].astype(np.float32).mean(axis=2) / 64
        return [DepthResult(depth, metric=True, timings_ms=dict.fromkeys(STAGES, 0.0))]


def load_detector(model: Path):
    config = {name: spec.default for name, spec in DETECTOR_SPECS.items()}
    config.update(model_path=str(model), device='cpu')
    return build_detector(config, lambda _: None)


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp('models')
    return {'tiny': tiny_yolo_model(folder / 'tiny.onnx', NAMES),
            'constant': constant_boxes_model(folder / 'constant.onnx', BOXES, SCORES, NAMES),
            'gated': constant_boxes_model(folder / 'gated.onnx', BOXES, SCORES, NAMES,
                                          gated=True)}


@pytest.fixture(scope='module')
def detector(models):
    detector = load_detector(models['tiny'])
    yield detector
    detector.close()


# Both storages; compressed frames decode to BGR, which the detector must get as RGB.
@pytest.fixture(scope='module', params=[('sqlite3', IMAGE_TOPIC), ('mcap', COMPRESSED_TOPIC)],
                ids=['sqlite3-raw', 'mcap-compressed'])
def replayed(request, tmp_path_factory, detector):
    """Replay the sample bag with the tiny YOLO and metric depth: (input, output, report)."""
    storage, topic = request.param
    folder = tmp_path_factory.mktemp(storage)
    sample, out = folder / 'sample', folder / 'out'
    write_sample_bag(sample, frames=FRAMES, storage=storage)
    report = BagReplay(BrightnessDepth(), detector=detector).run(sample, out, [topic])
    return sample, out, report


def decoded(path, topic):
    with BagReader(path) as bag:
        return [(m.timestamp, m.decode()) for m in bag.messages({topic})]


def messages(path, topic):
    return [msg for _, msg in decoded(path, topic)]


def test_each_frame_gets_the_detectors_boxes_with_the_images_stamp(replayed, detector):
    sample, out, report = replayed
    with BagReader(out) as bag:
        topic = next(t for t in (IMAGE_TOPIC, COMPRESSED_TOPIC) if t in bag.topics)
    images = decoded(sample, topic)
    found = decoded(out, DETECTIONS)
    assert [t for t, _ in found] == [t for t, _ in images], 'one array per frame, bag times'
    total = 0
    for (_, image), (_, array) in zip(images, found):
        assert array.header == image.header
        expected = detector.detect(message_to_pixels(image).rgb())
        boxes = np.array([corner_box(d) for d in array.detections]).reshape(-1, 4)
        np.testing.assert_allclose(boxes, expected.boxes, atol=1e-3)
        assert [(d.results[0].hypothesis.class_id, d.results[0].hypothesis.score)
                for d in array.detections] == \
            [(expected.label(i), pytest.approx(float(expected.scores[i])))
             for i in range(len(expected))]
        total += len(expected)
    assert total > 0, 'the tiny model should find something in the photographs'
    assert (report.detection.frames, report.detection.detections, report.detection.failed) \
        == (FRAMES, total, 0)
    assert set(report.detection.stages.percentiles()) == {'preprocess', 'infer', 'postprocess',
                                                          'distance', 'write'}


def test_objects_are_placed_with_the_frames_depth_and_camera_info(replayed):
    sample, out, report = replayed
    frames = zip(messages(out, DETECTIONS), messages(out, DETECTIONS_3D),
                 messages(out, SAMPLE_NAMESPACE + '/depth'), messages(sample, CAMERA_INFO_TOPIC))
    for array, located, depth_image, info in frames:
        assert located.header == array.header
        assert len(located.detections) == len(array.detections)
        depth = image_to_depth(depth_image)
        intrinsics = Intrinsics(fx=info.k[0], fy=info.k[4], cx=info.k[2], cy=info.k[5])
        for detection, placed in zip(array.detections, located.detections):
            box = corner_box(detection)
            distance = robust_depth(depth, box, *BOX_SETTINGS)
            centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
            position = placed.bbox.center.position
            assert (position.x, position.y, position.z) == \
                pytest.approx(back_project_point(*centre, distance, intrinsics))
            assert placed.results[0].hypothesis == detection.results[0].hypothesis
    assert report.detection.frames_without_camera_info == 0


@pytest.mark.parametrize('topic', [DETECTIONS, DETECTIONS_3D])
def test_the_bag_carries_the_vision_msgs_definition_rosidl_hashes(replayed, topic):
    _, out, _ = replayed
    with BagReader(out) as bag:
        connection = bag.connection(topic)
        data = next(m.data for m in bag.messages({topic}))
    store = get_typestore(Stores.EMPTY)
    store.register(get_types_from_msg(connection.msgdef.data, connection.msgtype))
    own = store.deserialize_cdr(data, connection.msgtype)
    assert own.header.frame_id == messages(out, topic)[0].header.frame_id
    # rosidl writes the type description (with its hash) next to the .msg since Iron.
    prefix = Path(vision_msgs.__file__).resolve().parents[4]
    description = prefix / 'share' / f'{connection.msgtype}.json'
    if not description.is_file():
        pytest.skip(f'no rosidl type description at {description}')
    hashes = json.loads(description.read_text())['type_hashes']
    assert connection.digest == next(h['hash_string'] for h in hashes
                                     if h['type_name'] == connection.msgtype)


def black_and_white_bag(path):
    """Write a black frame, then a white one, without camera_info."""
    with BagWriter(path) as bag:
        for index, value in enumerate((0, 255)):
            image = fill_image(Image(), np.full((240, 320, 3), value, np.uint8), 'rgb8')
            image.header.frame_id = 'camera_optical'
            image.header.stamp.sec = index + 1
            bag.write('/cam/image', (index + 1) * 10**9, image)


def test_no_objects_give_empty_arrays_and_no_camera_info_leaves_x_y_unknown(
        tmp_path, models, tiny_metric_service):
    black_and_white_bag(tmp_path / 'in')
    detector = load_detector(models['gated'])
    try:
        replay = BagReplay(tiny_metric_service, detector=detector)
        report = replay.run(tmp_path / 'in', tmp_path / 'out')
    finally:
        detector.close()
    black, white = messages(tmp_path / 'out', '/cam/detections')
    black_3d, white_3d = messages(tmp_path / 'out', '/cam/detections_3d')
    assert (black.detections, black_3d.detections) == ([], [])
    assert black.header.stamp.sec == black_3d.header.stamp.sec == 1
    assert [d.results[0].hypothesis.class_id for d in white.detections] == \
        ['person', 'person', 'car']
    # As distance_node without depth/camera_info: z is the depth, x and y are unknown.
    for placed in white_3d.detections:
        position = placed.bbox.center.position
        assert math.isnan(position.x) and math.isnan(position.y) and position.z > 0
    assert (report.detection.frames, report.detection.detections,
            report.detection.frames_without_camera_info) == (2, 3, 2)


def test_cli_replays_with_a_detector_and_reports_it(tmp_path, models, capsys):
    sample, out, report = tmp_path / 'sample', tmp_path / 'out', tmp_path / 'report.json'
    assert cli_main(['replay', '--make-sample', str(sample)]) == 0
    assert cli_main(['replay', str(sample), str(out), '--model', 'random:tiny', '--device',
                     'cpu', '--input-size', '140', '--detector', str(models['constant']),
                     '--confidence', '0.5', '--max-detections', '1', '--classes', 'person',
                     '--report-json', str(report)]) == 0
    summary = json.loads(report.read_text())['detection']
    assert (summary['frames'], summary['detections'], summary['failed']) == (6, 6, 0)
    assert summary['detector']['model'] == str(models['constant'])
    assert set(summary['stages_ms']) == {'preprocess', 'infer', 'postprocess', 'distance',
                                         'write'}
    assert 'detector: 6 frames, 6 detections, 0 failed' in capsys.readouterr().out
    for array, located in zip(messages(out, DETECTIONS), messages(out, DETECTIONS_3D)):
        assert [d.results[0].hypothesis.class_id for d in array.detections] == ['person']
        # A relative model: as distance_node on relative_inverse_depth, only z is known.
        position = located.detections[0].bbox.center.position
        assert math.isnan(position.x) and math.isfinite(position.z)


@pytest.mark.parametrize('content', [b'not an onnx model', None])
def test_a_bad_detector_is_refused_before_anything_is_written(tmp_path, capsys, content):
    sample, out, model = tmp_path / 'sample', tmp_path / 'out', tmp_path / 'yolo.onnx'
    write_sample_bag(sample, frames=1)
    if content is not None:
        model.write_bytes(content)
    assert cli_main(['replay', str(sample), str(out), '--model', 'random:tiny', '--device',
                     'cpu', '--detector', str(model)]) == 2
    error = capsys.readouterr().err
    assert f'--detector {model}' in error and 'docs/detection.md' in error
    assert not out.exists()


def test_detection_options_need_a_detector(tmp_path, capsys):
    write_sample_bag(tmp_path / 'sample', frames=1)
    assert cli_main(['replay', str(tmp_path / 'sample'), str(tmp_path / 'out'), '--model',
                     'random:tiny', '--device', 'cpu', '--confidence', '0.5']) == 2
    assert '--confidence needs --detector' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()


def test_without_vision_msgs_the_detector_is_refused_with_the_way_out(
        tmp_path, models, capsys, monkeypatch):
    write_sample_bag(tmp_path / 'sample', frames=1)
    for name in [m for m in sys.modules if m.startswith('vision_msgs')
                 or m == 'depth_trt_ros.ros.detector_node']:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, 'vision_msgs', None)  # as if not installed
    assert cli_main(['replay', str(tmp_path / 'sample'), str(tmp_path / 'out'), '--model',
                     'random:tiny', '--device', 'cpu', '--detector', str(models['gated'])]) == 2
    assert 'docs/vision_msgs.md' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()
