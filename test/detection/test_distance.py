"""Object distance: robust box depth and back-projection, by hand."""
import numpy as np
import pytest

from depth_trt_ros.inference.distance import (back_project_point, box_extent,
                                              central_region, robust_depth)
from depth_trt_ros.inference.geometry import Intrinsics

INTRINSICS = Intrinsics(fx=500.0, fy=400.0, cx=320.0, cy=240.0)


def test_central_region_is_the_middle_half_and_stays_inside():
    assert central_region((100, 100, 200, 140), 0.5, (480, 640)) == (125, 110, 175, 130)
    assert central_region((-20, -20, 20, 20), 0.5, (480, 640)) == (0, 0, 10, 10)
    assert central_region((639.5, 479.5, 640, 480), 0.5, (480, 640)) == (639, 479, 640, 480)


def test_robust_depth_ignores_background_and_outliers():
    depth = np.full((100, 100), 9.0, dtype=np.float32)   # background, around the object
    depth[30:70, 30:70] = 2.0                              # the object
    depth[50, 50] = 500.0                                  # a spike
    depth[45:47, 40:60] = np.nan                           # no return
    depth[52, 40:60] = 2.2
    assert robust_depth(depth, (20, 20, 80, 80)) == pytest.approx(2.0)


def test_robust_depth_is_none_without_enough_valid_pixels():
    depth = np.zeros((50, 50), dtype=np.float32)
    depth[25, 25] = 3.0
    assert robust_depth(depth, (0, 0, 50, 50)) is None


def test_back_projection_and_extent_by_hand():
    assert back_project_point(420.0, 140.0, 2.0, INTRINSICS) == pytest.approx((0.4, -0.5, 2.0))
    assert box_extent((300, 200, 350, 240), 4.0, INTRINSICS) == pytest.approx((0.4, 0.4))
