"""Optimization profiles follow the node's resize rule, not a square."""
import pytest

from depth_trt_ros.inference.engine_profile import (EngineProfile, output_shape,
                                                    parse_camera, profile_for_cameras)
from depth_trt_ros.inference.preprocess import network_input_size


def test_parse_camera():
    assert parse_camera('640x480') == (640, 480)
    assert parse_camera(' 1280X720 ') == (1280, 720)
    for bad in ('640', '640x', 'x480', '0x480', '640*480', '-640x480'):
        with pytest.raises(ValueError, match='WIDTHxHEIGHT'):
            parse_camera(bad)


def test_profile_covers_each_camera_at_its_own_aspect_ratio():
    profile = profile_for_cameras([(640, 480), (1280, 720)], 518, max_batch=4)
    assert profile.min_shape == (1, 3, 518, 686)
    assert profile.opt_shape == (1, 3, *network_input_size(480, 640, 518))
    assert profile.max_shape == (4, 3, 518, 924)
    for width, height in ((640, 480), (1280, 720)):
        assert profile.contains((1, 3, *network_input_size(height, width, 518)))
    assert not profile.contains((1, 3, 518, 518)), 'a square input is outside the profile'
    assert not profile.contains((5, 3, 518, 686)), 'batch above max'
    assert not profile.contains((1, 3, 518)), 'wrong rank'


def test_profile_round_trips_and_describes_itself():
    profile = profile_for_cameras([(640, 480)], 518)
    assert EngineProfile.from_dict(profile.to_dict()) == profile
    assert profile.describe() == 'batch 1-1, height 518-518, width 686-686'


def test_profile_rejects_bad_requests():
    with pytest.raises(ValueError, match='at least one camera'):
        profile_for_cameras([], 518)
    with pytest.raises(ValueError, match='max batch'):
        profile_for_cameras([(640, 480)], 518, max_batch=0)


def test_output_shape():
    assert output_shape((2, 3, 518, 686)) == (2, 518, 686)
    with pytest.raises(ValueError, match='batch, 3, height, width'):
        output_shape((2, 518, 686))
