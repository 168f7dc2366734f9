"""
Depth accuracy: AbsRel, delta < 1.25 and RMSE, with the usual alignment of relative models.

Relative models predict inverse depth up to an unknown scale and shift, so
their output is aligned per image by least squares in disparity (inverse
depth) space before it is compared, as MiDaS and Depth-Anything evaluate;
metric models are compared as they are.
"""
from typing import Dict, Optional

import numpy as np

METRICS = ('abs_rel', 'delta1', 'rmse')


def valid_mask(ground_truth: np.ndarray, min_depth: float = 1e-3,
               max_depth: Optional[float] = None) -> np.ndarray:
    """Pixels with usable ground truth: finite and inside ``[min_depth, max_depth]``."""
    mask = np.isfinite(ground_truth) & (ground_truth >= min_depth)
    if max_depth is not None:
        mask &= ground_truth <= max_depth
    return mask


def fit_scale_shift(prediction: np.ndarray, target: np.ndarray):
    """Least-squares ``(scale, shift)`` with ``scale * prediction + shift ~ target``."""
    design = np.stack([prediction, np.ones_like(prediction)], axis=1).astype(np.float64)
    (scale, shift), *_ = np.linalg.lstsq(design, target.astype(np.float64), rcond=None)
    return float(scale), float(shift)


def align_disparity(prediction: np.ndarray, ground_truth: np.ndarray, mask: np.ndarray,
                    max_depth: float) -> np.ndarray:
    """
    Depth from a relative inverse-depth ``prediction`` aligned to ``ground_truth``.

    Aligned disparities below ``1 / max_depth`` (far, or negative after the
    shift) are clamped there, so every pixel gets a finite, positive depth.
    """
    scale, shift = fit_scale_shift(prediction[mask], 1.0 / ground_truth[mask])
    disparity = scale * prediction.astype(np.float64) + shift
    return 1.0 / np.maximum(disparity, 1.0 / max_depth)


def depth_errors(depth: np.ndarray, ground_truth: np.ndarray,
                 mask: np.ndarray) -> Dict[str, float]:
    """AbsRel, delta1 (share of pixels within a factor 1.25) and RMSE over ``mask``."""
    predicted = np.maximum(depth[mask].astype(np.float64), 1e-9)
    truth = ground_truth[mask].astype(np.float64)
    ratio = np.maximum(predicted / truth, truth / predicted)
    return {'abs_rel': float(np.mean(np.abs(predicted - truth) / truth)),
            'delta1': float(np.mean(ratio < 1.25)),
            'rmse': float(np.sqrt(np.mean((predicted - truth) ** 2)))}


def evaluate_prediction(prediction: np.ndarray, metric: bool, ground_truth: np.ndarray,
                        min_depth: float = 1e-3,
                        max_depth: Optional[float] = None) -> Dict[str, float]:
    """
    Errors of one prediction; relative ones are aligned first.

    Without ``max_depth`` the image's farthest ground truth caps the aligned
    depth, so an alignment can never invent depth beyond what was measured.
    """
    mask = valid_mask(ground_truth, min_depth, max_depth)
    if mask.sum() < 2:
        raise ValueError('ground truth has fewer than two valid pixels')
    if metric:
        depth = prediction
    else:
        cap = max_depth if max_depth is not None else float(ground_truth[mask].max())
        depth = align_disparity(prediction, ground_truth, mask, cap)
    return depth_errors(depth, ground_truth, mask)
