"""
Tools refuse bad files with one sentence naming the file and the fix, never a traceback.

Every case runs the CLI in-process, as a user would, and checks the exit status
(2) and that stderr holds one error line naming the file. Bad frames inside a
good bag are not refusals: replay counts them by reason, evaluate and bench
skip them and say how many.
"""
import json
import logging
import re

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import Image

from depth_trt_ros.ros.conversions import BadImageError, fill_image
from depth_trt_ros.ros.wire import MalformedMessage
from depth_trt_ros.tools import evaluation_data
from depth_trt_ros.tools.bench.frames import bag_frames
from depth_trt_ros.tools.cli import main as cli_main
from depth_trt_ros.tools.recorded.bags import BagMessage, BagWriter
from depth_trt_ros.tools.recorded.sample_bag import write_sample_bag
from hostile import hostile_payloads

TINY = ['--model', 'random:tiny', '--device', 'cpu', '--input-size', '140']
SIZE = (24, 32)
DEPTH_M = np.linspace(0.5, 4.0, SIZE[0] * SIZE[1], dtype=np.float32).reshape(SIZE)
HOSTILE = 60


def refusal(capsys, argv) -> str:
    """Run the CLI; check it exits 2 with one error line and no traceback; return the line."""
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    # A replay that fails mid-way has drawn its progress bar (tqdm's 'depth: ... frame/s]').
    lines = [line for line in re.split('[\r\n]', err)
             if line.strip() and not re.fullmatch(r'depth: .*frame/s\]', line)]
    assert len(lines) == 1, err
    assert lines[0].startswith(f'depth-trt-ros {argv[0]}: error: '), err
    return lines[0]


# evaluate --data


def _dataset(root, rgb=None, depth=DEPTH_M, depth_name='a.npy'):
    (root / 'rgb').mkdir(parents=True)
    (root / 'depth').mkdir()
    image = np.full((*SIZE, 3), 100, np.uint8) if rgb is None else rgb
    cv2.imwrite(str(root / 'rgb' / 'a.png'), image)
    if depth_name.endswith('.npy'):
        np.save(root / 'depth' / depth_name, depth)
    else:
        cv2.imwrite(str(root / 'depth' / depth_name), depth)
    return root


def _unreadable_image(root):
    _dataset(root)
    (root / 'rgb' / 'a.png').write_bytes(b'not a png')
    return root / 'rgb' / 'a.png', 'readable PNG or JPEG'


def _smaller_ground_truth(root):
    _dataset(root, depth=DEPTH_M[::2, ::2])
    return root / 'depth' / 'a.npy', 'ground truth is 16x12 but a.png is 32x24'


def _eight_bit_png(root):
    _dataset(root, depth=np.full(SIZE, 7, np.uint8), depth_name='a.png')
    return root / 'depth' / 'a.png', '16-bit PNG in mm'


def _garbage_npy(root):
    _dataset(root)
    (root / 'depth' / 'a.npy').write_bytes(b'garbage')
    return root / 'depth' / 'a.npy', 'numpy.save'


def _colour_npy(root):
    _dataset(root, depth=np.ones((*SIZE, 3), np.float32))
    return root / 'depth' / 'a.npy', 'one [H, W] array of metres'


def _all_nan(root):
    _dataset(root, depth=np.full(SIZE, np.nan, np.float32))
    return root / 'depth' / 'a.npy', 'fewer than two valid pixels'


def _no_images(root):
    root.mkdir()
    return root / 'rgb', 'expected rgb/NAME.png|jpg'


def _missing(root):
    return root, 'no such directory'


@pytest.mark.parametrize('make', [_unreadable_image, _smaller_ground_truth, _eight_bit_png,
                                  _garbage_npy, _colour_npy, _all_nan, _no_images, _missing])
def test_evaluate_refuses_a_bad_dataset_naming_the_file(tmp_path, capsys, make):
    path, fix = make(tmp_path / 'data')
    line = refusal(capsys, ['evaluate', '--data', str(tmp_path / 'data'), *TINY])
    assert str(path) in line and fix in line


def test_nan_and_inf_in_ground_truth_are_pixels_without_truth(tmp_path, capsys):
    depth = DEPTH_M.copy()
    depth[:4], depth[4:8] = np.nan, np.inf
    _dataset(tmp_path / 'data', depth=depth)
    out = tmp_path / 'results.json'
    assert cli_main(['evaluate', '--data', str(tmp_path / 'data'), *TINY,
                     '--json', str(out)]) == 0
    result, = json.loads(out.read_text())['results']
    assert result['frames'] == 1 and np.isfinite(result['abs_rel'])


# evaluate --config


@pytest.mark.parametrize('text,fix', [
    ('- {label: a\n  model_path: [', 'not valid YAML at line 2'),
    ('label: a\nmodel_path: random:tiny\n', 'must be a list of runs'),
    ('- random:tiny\n', 'must be a list of runs'),
    ('- {model_path: random:tiny, input_size: big}\n', "input_size is 'big' — give a whole"),
    ('- {model: random:tiny}\n', 'unknown key(s) model'),
])
def test_evaluate_refuses_a_bad_config_naming_the_file(tmp_path, capsys, text, fix):
    config = tmp_path / 'runs.yaml'
    config.write_text(text)
    line = refusal(capsys, ['evaluate', '--config', str(config)])
    assert str(config) in line and fix in line


def test_evaluate_refuses_a_missing_config(tmp_path, capsys):
    line = refusal(capsys, ['evaluate', '--config', str(tmp_path / 'runs.yaml')])
    assert line.endswith(f"{tmp_path / 'runs.yaml'}: No such file or directory")


# bags


def _image(index: int, size=SIZE) -> Image:
    image = fill_image(Image(), np.full((*size, 3), 100, np.uint8), 'rgb8')
    image.header.stamp.sec = index
    return image


def _hostile_bag(path):
    """Two image/depth pairs with hostile Image payloads between them."""
    with BagWriter(path) as bag:
        for index in range(2):
            image = _image(index)
            bag.write('/camera/image', index, image)
            bag.write('/camera/depth',
                      index, fill_image(Image(), DEPTH_M, '32FC1', image.header))
        for index, payload in enumerate(hostile_payloads([_image(1000)], HOSTILE)):
            bag.copy(BagMessage('/camera/image', 'sensor_msgs/msg/Image', 10 + index,
                                payload))


def _no_bag(path):
    path.mkdir()
    (path / 'notes.txt').write_text('not a bag')
    return path, 'no metadata.yaml'


def _not_yaml(path):
    write_sample_bag(path, frames=1)
    (path / 'metadata.yaml').write_text(': - [ garbage')
    return path / 'metadata.yaml', f'not valid YAML — restore it, or delete it and run ros2 ' \
        f'bag reindex {path}'


def _other_yaml(path):
    write_sample_bag(path, frames=1)
    (path / 'metadata.yaml').write_text('hello: 3\n')
    return path / 'metadata.yaml', 'not rosbag2 metadata'


def _truncated(storage):
    def make(path):
        write_sample_bag(path, frames=1, storage=storage)
        data = next(f for f in path.iterdir() if f.suffix in ('.db3', '.mcap'))
        data.write_bytes(data.read_bytes()[:data.stat().st_size // 2])
        return path, 'cannot be opened'
    make.__name__ = f'truncated_{storage}'
    return make


def _text_file(path):
    path.write_text('not a bag')
    return path, 'not a rosbag2 file'


def _missing_bag(path):
    return path, 'no such file or directory'


BROKEN_BAGS = [_no_bag, _not_yaml, _other_yaml, _truncated('sqlite3'), _truncated('mcap'),
               _text_file, _missing_bag]


@pytest.mark.parametrize('make', BROKEN_BAGS, ids=lambda make: make.__name__.strip('_'))
def test_every_bag_tool_refuses_a_broken_bag_naming_it(tmp_path, capsys, make):
    bag = tmp_path / 'bag'
    named, what = make(bag)
    for argv in (['replay', str(bag), str(tmp_path / 'out'), *TINY],
                 ['evaluate', '--bag', str(bag), *TINY],
                 ['bench', 'model', '--bag', str(bag), '--iterations', '1']):
        line = refusal(capsys, argv)
        assert f'{named}: ' in line and what in line, line
    assert not (tmp_path / 'out').exists()


def test_replay_refuses_a_bag_damaged_inside_after_what_it_read(tmp_path, capsys):
    bag = tmp_path / 'bag'
    write_sample_bag(bag, frames=2)
    database = bag / 'bag.db3'
    data = bytearray(database.read_bytes())
    # Noise over a page boundary at a quarter, half and three quarters: rows of every
    # topic are damaged, the schema and the table of topics (at the start) are not.
    for quarter in (1, 2, 3):
        start = len(data) * quarter // 4 + 1000
        data[start:start + 4096] = np.random.default_rng(quarter).bytes(4096)
    database.write_bytes(bytes(data))
    line = refusal(capsys, ['replay', str(bag), str(tmp_path / 'out'), *TINY])
    assert f'{bag}: unreadable after' in line and 'copy or record it again' in line


def test_realtime_play_refuses_a_broken_bag(tmp_path, capsys):
    line = refusal(capsys, ['replay', str(tmp_path / 'nothing'), '--realtime'])
    assert f"{tmp_path / 'nothing'}: no such file or directory" in line


def test_replay_counts_hostile_messages_as_bad_frames_by_reason(tmp_path, capsys):
    _hostile_bag(tmp_path / 'bag')
    report = tmp_path / 'report.json'
    assert cli_main(['replay', str(tmp_path / 'bag'), str(tmp_path / 'out'), *TINY,
                     '--topics', '/camera/image', '--report-json', str(report)]) == 0
    summary = json.loads(report.read_text())
    assert summary['frames_read'] == 2 + HOSTILE
    assert summary['frames_bad'] + summary['frames_written'] == 2 + HOSTILE
    reasons = set(summary['bad_by_reason'])
    assert reasons & set(MalformedMessage.CATEGORIES), 'malformed bytes counted by category'
    assert reasons <= set(MalformedMessage.CATEGORIES) | set(BadImageError.CATEGORIES)
    assert summary['frames_written'] >= 2, 'the good frames are served'


def test_evaluate_and_bench_skip_messages_that_do_not_decode(tmp_path, caplog):
    _hostile_bag(tmp_path / 'bag')
    with caplog.at_level(logging.WARNING):
        samples = list(evaluation_data.bag_samples(tmp_path / 'bag', '/camera/image',
                                                   '/camera/depth'))
        frames = bag_frames(str(tmp_path / 'bag'), '/camera/image', limit=100)
    assert [s.name for s in samples] == ['0.000000000', '1.000000000']
    assert 2 <= len(frames) < 2 + HOSTILE
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all('message(s) that do not decode' in w for w in warnings)
    assert all(w.startswith(f"{tmp_path / 'bag'}: skipped ") for w in warnings)


def test_evaluate_refuses_bag_ground_truth_of_another_size(tmp_path, capsys):
    with BagWriter(tmp_path / 'bag') as bag:
        image = _image(3)
        bag.write('/camera/image', 0, image)
        bag.write('/camera/depth', 0,
                  fill_image(Image(), DEPTH_M[::2, ::2], '32FC1', image.header))
    line = refusal(capsys, ['evaluate', '--bag', str(tmp_path / 'bag'), *TINY])
    assert f"{tmp_path / 'bag'} /camera/depth at 3.000000000: ground truth is 16x12" in line
    assert 'registered to the image' in line


# the safety net


def test_an_unexpected_error_is_one_line_with_the_way_to_the_traceback(
        tmp_path, capsys, monkeypatch):
    def broken(root):
        raise KeyError('attacker text ' * 50 + '\nsecond line')

    monkeypatch.setattr(evaluation_data, 'directory_samples', broken)
    line = refusal(capsys, ['evaluate', '--data', str(tmp_path)])
    assert 'unexpected KeyError' in line and line.endswith('run with -v for the traceback')
    assert len(line) < 200, 'attacker text is cut'
