"""``depth-trt-ros demo``, what ``make demo`` runs: the chain over DDS, in its own process."""
import os
from pathlib import Path
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from depth_trt_ros.inference.detection.yolo import DetectionSettings, load_yolo_backend, \
    YoloDetector
from depth_trt_ros.tools.cli import main as cli_main
from depth_trt_ros.tools.demo import choose_detector, DETECTOR_PARAMS, STAND_IN_NOTE
from depth_trt_ros.tools.demo_picture import CAPTION_HEIGHT
from depth_trt_ros.tools.yolo_layout import constant_boxes_model, patch_finder_model

pytestmark = [pytest.mark.ros, pytest.mark.slow]
FRAMES = {'astronaut': (512, 512), 'chelsea': (300, 451), 'coffee': (400, 600)}


def run_demo(*arguments):
    result = subprocess.run([sys.executable, '-m', 'depth_trt_ros.tools.cli', 'demo',
                             '--model', 'random:tiny-metric', '--repeat', '1', *arguments],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            timeout=300, env=dict(os.environ, HF_HUB_OFFLINE='1'))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def timing_rows(text: str):
    """``{row name: [ms per frame]}`` of timing.md's table."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip('|').split('|')]
        if len(cells) > 1 and re.fullmatch(r'-?[\d.]+|nan', cells[1]):
            rows[cells[0]] = [float(cell) for cell in cells[1:]]
    return rows


def test_demo_shows_the_chain_and_says_what_is_not_real(tmp_path):
    stdout = run_demo('--output-dir', str(tmp_path))
    first_line = stdout.splitlines()[0]
    assert first_line.startswith('NOT REAL: depth from random weights (random:tiny-metric)')
    assert 'stand-in detector' in first_line and STAND_IN_NOTE in stdout
    for name, (height, width) in FRAMES.items():
        picture = cv2.imread(str(tmp_path / f'{name}_chain.png'))
        # Two warning lines and the panel captions above photo | depth.
        assert picture.shape == (height + 3 * CAPTION_HEIGHT, 2 * width, 3)
        assert np.load(tmp_path / f'{name}_depth.npy').shape == (height, width)
        for suffix in ('depth16', 'colorized'):
            assert (tmp_path / f'{name}_{suffix}.png').is_file()
    rows = timing_rows((tmp_path / 'timing.md').read_text())
    for row in ('depth_node infer', 'detector_node infer', 'distance_node distance',
                'camera publish -> distances received (end to end)'):
        assert len(rows[row]) == len(FRAMES) and all(v >= 0 for v in rows[row]), row
    end_to_end = rows['camera publish -> distances received (end to end)']
    assert all(total >= depth for total, depth in
               zip(end_to_end, rows['camera publish -> depth received']))


def test_demo_uses_the_detector_it_is_given_else_builds_the_stand_in(tmp_path):
    model = constant_boxes_model(tmp_path / 'one_box.onnx', [(320, 320, 320, 320)], [(0.9,)],
                                 ['mug'])
    assert choose_detector(model, tmp_path) == (str(model), str(model))
    stand_in, note = choose_detector(None, tmp_path)
    assert note == STAND_IN_NOTE and Path(stand_in).parent == tmp_path


def test_the_stand_in_detector_marks_bright_and_dark_patches_only(tmp_path):
    frame = np.full((480, 640, 3), 128, np.uint8)
    frame[:, :200] = 10
    frame[:, :200:2] = 30     # dark, with some texture
    frame[300:, 500:] = 250
    frame[300::2, 500:] = 230  # bright, with some texture
    detector = YoloDetector(load_yolo_backend('auto', str(patch_finder_model(
        tmp_path / 'stand_in.onnx')), 'cpu', 'fp32'), DetectionSettings(**DETECTOR_PARAMS))
    found = detector.detect(frame)
    labels = {found.label(index) for index in range(len(found))}
    assert labels == {'bright', 'dark'}
    dark = [box for index, box in enumerate(found.boxes) if found.label(index) == 'dark']
    assert all(box[0] < 200 for box in dark)
    detector.close()


def test_demo_refuses_a_missing_detector_with_the_fix(tmp_path, capsys):
    assert cli_main(['demo', '--detector', str(tmp_path / 'none.onnx'), '--model',
                     'random:tiny', '--output-dir', str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert 'none.onnx' in error and 'is not a file' in error


def test_demo_without_vision_msgs_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, 'vision_msgs.msg', None)
    assert cli_main(['demo', '--output-dir', str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert 'vision_msgs is not installed' in error and 'scripts/setup_env.sh' in error
