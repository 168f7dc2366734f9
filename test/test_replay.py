"""Offline replay: bags in both storages, stamps kept, bad frames counted, CLI."""
import json

import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image

from depth_trt_ros.tools.cli import main as cli_main
from depth_trt_ros.tools.recorded.bag_replay import BagReplay, choose_image_topics, namespace_of
from depth_trt_ros.tools.recorded.bags import BagMessage, BagReader, BagWriter
from depth_trt_ros.tools.recorded.sample_bag import CAMERA_INFO_TOPIC, COMPRESSED_TOPIC, \
    FRAME_ID, IMAGE_TOPIC, SIZE, write_sample_bag

FRAMES = 3
RELATIVE = '/camera/relative_inverse_depth'


@pytest.fixture(scope='module', params=['sqlite3', 'mcap'])
def sample_bag(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param) / 'sample'
    write_sample_bag(path, frames=FRAMES, storage=request.param)
    return path


def _decoded(path, topic):
    with BagReader(path) as bag:
        return [(m.timestamp, m.decode()) for m in bag.messages({topic})]


def test_namespace_of_raw_and_compressed_topics():
    assert namespace_of('/cam/image') == '/cam'
    assert namespace_of('/cam/image/compressed') == '/cam'
    assert namespace_of('/image_raw') == ''


def test_default_topics_take_one_image_topic_per_namespace_raw_first():
    available = {IMAGE_TOPIC: 'sensor_msgs/msg/Image',
                 COMPRESSED_TOPIC: 'sensor_msgs/msg/CompressedImage',
                 '/left/image/compressed': 'sensor_msgs/msg/CompressedImage',
                 CAMERA_INFO_TOPIC: 'sensor_msgs/msg/CameraInfo'}
    assert choose_image_topics(available) == [IMAGE_TOPIC, '/left/image/compressed']
    with pytest.raises(ValueError, match='one image topic per namespace'):
        choose_image_topics(available, [IMAGE_TOPIC, COMPRESSED_TOPIC])
    with pytest.raises(ValueError, match='no image topic /nope'):
        choose_image_topics(available, ['/nope'])


def test_replay_writes_depth_with_recorded_stamps_in_input_storage(sample_bag, tmp_path,
                                                                   tiny_service):
    out = tmp_path / 'out'
    report = BagReplay(tiny_service, colorized=True).run(sample_bag, out)

    assert (report.frames_read, report.frames_written, report.frames_bad) == (FRAMES, FRAMES, 0)
    assert set(report.stage_percentiles()) == {'read', 'convert', 'preprocess', 'infer',
                                               'postprocess', 'write'}
    with BagReader(sample_bag) as source, BagReader(out) as result:
        assert result.storage == source.storage
        # A relative model: its output is named so, never REP 118's metric depth.
        assert set(result.topics) == {IMAGE_TOPIC, CAMERA_INFO_TOPIC, RELATIVE,
                                      f'{RELATIVE}/colorized', f'{RELATIVE}/camera_info',
                                      '/diagnostics'}
    inputs = _decoded(sample_bag, IMAGE_TOPIC)
    depth = _decoded(out, RELATIVE)
    assert [t for t, _ in depth] == [t for t, _ in inputs]
    for (_, image), (_, depth_image) in zip(inputs, depth):
        assert depth_image.header == image.header
        assert (depth_image.encoding, depth_image.height, depth_image.width) == \
            ('32FC1', *SIZE)
        assert np.isfinite(np.frombuffer(depth_image.data, np.float32)).all()
    colorized = _decoded(out, f'{RELATIVE}/colorized')
    assert [c.encoding for _, c in colorized] == ['bgr8'] * FRAMES
    infos = _decoded(out, f'{RELATIVE}/camera_info')
    assert [i.header.frame_id for _, i in infos] == [FRAME_ID] * FRAMES


def test_replay_can_change_storage_and_choose_the_compressed_topic(sample_bag, tmp_path,
                                                                   tiny_service):
    out = tmp_path / 'out'
    with BagReader(sample_bag) as source:
        other = 'mcap' if source.storage == 'sqlite3' else 'sqlite3'
    report = BagReplay(tiny_service).run(sample_bag, out, [COMPRESSED_TOPIC], storage=other)
    assert report.frames_written == FRAMES
    with BagReader(out) as result:
        assert result.storage == other
        assert COMPRESSED_TOPIC in result.topics and IMAGE_TOPIC not in result.topics


def _bad_frames_bag(path):
    """Good frames around one of each fault a recording can hold."""
    good = np.zeros((32, 48, 3), np.uint8)
    cases = [Image(height=32, width=48, encoding='rgb8', step=144, data=good.tobytes()),
             Image(height=32, width=48, encoding='rgb8', step=144, data=b'\x00' * 100),
             Image(height=32, width=48, encoding='weird', step=144, data=good.tobytes()),
             Image(height=0, width=48, encoding='rgb8', step=144, data=b''),
             Image(height=32, width=47, encoding='yuv422', step=94, data=b'\x00' * 3008),
             Image(height=32, width=48, encoding='rgb8', step=144, data=good.tobytes())]
    with BagWriter(path) as bag:
        for index, image in enumerate(cases):
            bag.write('/cam/image', index * 10**8, image)
        bag.write('/cam/image/compressed', 10**9,
                  CompressedImage(format='jpeg', data=b'not a jpeg'))
        bag.copy(BagMessage('/cam/image', 'sensor_msgs/msg/Image', 2 * 10**9,
                            b'\x00\x01\x00\x00 broken CDR'))


def test_bad_frames_are_counted_by_reason_and_skipped(tmp_path, tiny_service):
    _bad_frames_bag(tmp_path / 'bad')
    report = BagReplay(tiny_service).run(tmp_path / 'bad', tmp_path / 'out',
                                         ['/cam/image'])
    assert report.frames_written == 2
    assert report.bad_by_reason == {'truncated': 1, 'encoding': 1, 'empty': 1, 'size': 1,
                                    'cdr_truncated': 1}
    _, last = _decoded(tmp_path / 'out', '/diagnostics')[-1]
    values = {kv.key: kv.value for kv in last.status[0].values}
    assert (values['frames_bad'], values['frames_published'], values['bad_truncated']) == \
        ('5', '2', '1')
    compressed = BagReplay(tiny_service).run(tmp_path / 'bad', tmp_path / 'out2',
                                             ['/cam/image/compressed'])
    assert compressed.bad_by_reason == {'format': 1}, 'the bytes are no JPEG'


def test_cli_makes_a_sample_replays_it_and_writes_the_report(tmp_path, capsys):
    sample, out, report = tmp_path / 'sample', tmp_path / 'out', tmp_path / 'report.json'
    assert cli_main(['replay', '--make-sample', str(sample), '--storage', 'mcap']) == 0
    assert cli_main(['replay', str(sample), str(out), '--model', 'random:tiny', '--device',
                     'cpu', '--input-size', '140', '--report-json', str(report)]) == 0
    summary = json.loads(report.read_text())
    assert summary['frames_written'] == 6 and summary['frames_bad'] == 0
    assert summary['estimator']['model'] == 'random:tiny'
    assert 'throughput' in capsys.readouterr().out
    assert cli_main(['replay', str(sample), str(out)]) == 2, 'refuses to overwrite'


class FailingService:
    """A service whose inference always fails, as on a device out of memory."""

    def describe(self):
        return {}

    def estimate_batch(self, frames, outputs, bgr=False):
        raise RuntimeError('CUDA out of memory')


def test_inference_failures_are_counted_not_raised(sample_bag, tmp_path):
    report = BagReplay(FailingService()).run(sample_bag, tmp_path / 'out')
    assert (report.frames_written, dict(report.bad_by_reason)) == (0, {'inference': FRAMES})


def test_metric_model_writes_depth_mm_and_points_from_camera_info(sample_bag, tmp_path,
                                                                  tiny_metric_service):
    replay = BagReplay(tiny_metric_service, depth_mm=True, points=True)
    report = replay.run(sample_bag, tmp_path / 'out')
    assert report.frames_written == FRAMES
    depth_mm = _decoded(tmp_path / 'out', '/camera/depth/mm')
    points = _decoded(tmp_path / 'out', '/camera/points')
    assert [m.encoding for _, m in depth_mm] == ['16UC1'] * FRAMES
    assert [(p.height, p.width) for _, p in points] == [SIZE] * FRAMES


def test_metric_outputs_are_refused_for_a_relative_model(tiny_service):
    with pytest.raises(ValueError, match='need a metric model'):
        BagReplay(tiny_service, depth_mm=True)
