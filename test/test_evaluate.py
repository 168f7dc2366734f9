"""evaluate: ground-truth sources and the comparison table over real (tiny) models."""
import json

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import Image

from depth_trt_ros.ros.conversions import fill_image
from depth_trt_ros.tools.cli import main as cli_main
from depth_trt_ros.tools.evaluation_data import bag_samples, directory_samples, motorcycle_sample
from depth_trt_ros.tools.recorded.bags import BagWriter

DEPTH_M = np.linspace(0.5, 4.0, 24 * 32, dtype=np.float32).reshape(24, 32)


def test_builtin_motorcycle_works_offline_with_plausible_depth():
    sample = motorcycle_sample()
    valid = sample.depth_m > 0
    assert sample.rgb.shape == (500, 741, 3) and sample.depth_m.shape == (500, 741)
    assert 0.8 < valid.mean() < 1.0
    assert 1.0 < np.median(sample.depth_m[valid]) < 10.0, 'metres, a few away from the camera'


def test_directory_reads_millimetre_png_and_metre_npy(tmp_path):
    (tmp_path / 'rgb').mkdir()
    (tmp_path / 'depth').mkdir()
    rgb = np.full((24, 32, 3), (255, 0, 0), np.uint8)
    for name in ('a', 'b'):
        cv2.imwrite(str(tmp_path / 'rgb' / f'{name}.png'), rgb[..., ::-1])
    cv2.imwrite(str(tmp_path / 'depth' / 'a.png'), (DEPTH_M * 1000).astype(np.uint16))
    np.save(tmp_path / 'depth' / 'b.npy', DEPTH_M)
    samples = list(directory_samples(tmp_path))
    assert [s.name for s in samples] == ['a', 'b']
    assert (samples[0].rgb == rgb).all()
    for sample in samples:
        np.testing.assert_allclose(sample.depth_m, DEPTH_M, atol=1e-3)


def test_directory_without_ground_truth_says_what_is_missing(tmp_path):
    (tmp_path / 'rgb').mkdir()
    cv2.imwrite(str(tmp_path / 'rgb' / 'x.png'), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match='no ground truth for x.png'):
        list(directory_samples(tmp_path))


def test_bag_pairs_images_and_16bit_depth_by_stamp(tmp_path):
    with BagWriter(tmp_path / 'gt') as bag:
        for index in range(2):
            image = fill_image(Image(), np.zeros((24, 32, 3), np.uint8), 'rgb8')
            image.header.stamp.sec = index
            depth = fill_image(Image(), (DEPTH_M * 1000).astype(np.uint16), '16UC1',
                               image.header)
            bag.write('/camera/image', index, image)
            bag.write('/camera/depth', index, depth)
        bag.write('/camera/image', 5, image)
    samples = list(bag_samples(tmp_path / 'gt', '/camera/image', '/camera/depth'))
    assert len(samples) == 2, 'the image without depth is left out'
    np.testing.assert_allclose(samples[1].depth_m, DEPTH_M, atol=1e-3)


def test_cli_compares_runs_from_config_and_writes_json(tmp_path, capsys):
    config, out = tmp_path / 'runs.yaml', tmp_path / 'results.json'
    config.write_text('- {label: relative, model_path: "random:tiny"}\n'
                      '- {label: metric, model_path: "random:tiny-metric"}\n')
    assert cli_main(['evaluate', '--config', str(config), '--device', 'cpu',
                     '--input-size', '140', '--json', str(out)]) == 0
    results = json.loads(out.read_text())['results']
    assert [(r['label'], r['metric_model']) for r in results] == [('relative', False),
                                                                  ('metric', True)]
    for result in results:
        assert 0 <= result['delta1'] <= 1 and result['abs_rel'] > 0 and result['rmse'] > 0
    assert 'relative' in capsys.readouterr().out


def test_cli_rejects_unknown_config_keys(tmp_path):
    config = tmp_path / 'runs.yaml'
    config.write_text('- {model: "random:tiny"}\n')
    assert cli_main(['evaluate', '--config', str(config)]) == 2
