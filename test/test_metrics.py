"""Depth metrics and disparity alignment on synthetic data with known answers."""
import numpy as np
import pytest

from depth_trt_ros.inference.metrics import (align_disparity, depth_errors,
                                             evaluate_prediction, fit_scale_shift,
                                             valid_mask)


@pytest.fixture
def ground_truth():
    rows = np.linspace(1.0, 8.0, 64, dtype=np.float32)
    return np.tile(rows[:, None], (1, 48))


def test_hand_computed_errors():
    truth = np.array([1.0, 2.0, 4.0])
    errors = depth_errors(np.array([1.0, 2.0, 5.0]), truth, np.ones(3, bool))
    assert errors['abs_rel'] == pytest.approx(0.25 / 3)
    assert errors['rmse'] == pytest.approx(np.sqrt(1 / 3))
    assert errors['delta1'] == pytest.approx(2 / 3), '5/4 is not below 1.25'


def test_scaled_metric_prediction_is_not_aligned(ground_truth):
    errors = evaluate_prediction(ground_truth * 1.1, True, ground_truth)
    assert errors['abs_rel'] == pytest.approx(0.1, rel=1e-5)
    assert errors['delta1'] == 1.0
    assert errors['rmse'] == pytest.approx(0.1 * np.sqrt(np.mean(ground_truth ** 2)),
                                           rel=1e-5)
    assert evaluate_prediction(ground_truth * 1.3, True, ground_truth)['delta1'] == 0.0


def test_alignment_recovers_any_scale_and_shift_of_disparity(ground_truth):
    relative = 3.0 / ground_truth - 0.2
    errors = evaluate_prediction(relative, False, ground_truth)
    assert errors['abs_rel'] == pytest.approx(0.0, abs=1e-6)
    assert errors['delta1'] == 1.0
    assert errors['rmse'] == pytest.approx(0.0, abs=1e-5)


def test_fit_scale_shift_is_least_squares():
    prediction = np.array([0.0, 1.0, 2.0, 3.0])
    target = np.array([1.0, 3.0, 5.0, 8.0])
    scale, shift = fit_scale_shift(prediction, target)
    expected = np.polyfit(prediction, target, 1)
    assert (scale, shift) == pytest.approx(tuple(expected))


def test_aligned_depth_is_capped_at_max_depth():
    truth = np.array([1.0, 2.0, 4.0])
    prediction = np.array([1.0, 0.5, 0.25])
    far = np.array([1.0, 0.5, -5.0])
    depth = align_disparity(far, truth, np.array([True, True, False]), max_depth=10.0)
    assert depth[2] == pytest.approx(10.0)
    assert align_disparity(prediction, truth, np.ones(3, bool), 10.0) == pytest.approx(truth)


def test_invalid_ground_truth_is_ignored(ground_truth):
    truth = ground_truth.copy()
    truth[:4] = 0.0
    truth[4:8] = np.nan
    truth[8:12] = np.inf
    prediction = ground_truth.copy()
    prediction[:12] = 1000.0
    assert valid_mask(truth).sum() == (64 - 12) * 48
    assert evaluate_prediction(prediction, True, truth)['abs_rel'] == 0.0
    assert valid_mask(truth, max_depth=4.0).sum() < valid_mask(truth).sum()


def test_too_little_ground_truth_is_an_error():
    with pytest.raises(ValueError, match='fewer than two valid pixels'):
        evaluate_prediction(np.ones((2, 2)), False, np.zeros((2, 2)))
