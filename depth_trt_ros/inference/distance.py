"""
How far away a detected object is: robust depth in its box, and its 3D position.

Pure numpy: the depth image and boxes in, numbers out. Depth is whatever the
depth model publishes: metres for metric models, relative inverse depth
(larger = nearer, no unit) otherwise.
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from depth_trt_ros.inference.geometry import Intrinsics

# Median absolute deviations beyond which a pixel is an outlier (background, edges).
OUTLIER_MADS = 3.0
# MAD of a normal distribution is 0.6745 sigma: scales MAD to a standard deviation.
_MAD_TO_SIGMA = 1.4826
# Box coordinates are clipped to this many pixels: far outside any image, and small
# enough that a box's width and margins stay finite.
_FAR_PIXELS = 1e9


def central_region(box: Sequence[float], fraction: float,
                   shape: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """
    Integer ``(x0, y0, x1, y1)`` of the box's central ``fraction``, inside the image.

    The centre of a box is mostly the object; its border is mostly background.
    The region is at least one pixel. A box with a non-finite coordinate raises
    ValueError.
    """
    if not np.isfinite(np.asarray(box, dtype=np.float64)).all():
        raise ValueError(f'box {tuple(box)} has a non-finite coordinate')
    x0, y0, x1, y1 = (float(np.clip(v, -_FAR_PIXELS, _FAR_PIXELS)) for v in box)
    margin_x = (x1 - x0) * (1.0 - fraction) / 2
    margin_y = (y1 - y0) * (1.0 - fraction) / 2
    height, width = shape
    left = int(np.clip(np.floor(x0 + margin_x), 0, width - 1))
    top = int(np.clip(np.floor(y0 + margin_y), 0, height - 1))
    right = int(np.clip(np.ceil(x1 - margin_x), left + 1, width))
    bottom = int(np.clip(np.ceil(y1 - margin_y), top + 1, height))
    return left, top, right, bottom


def robust_depth(depth: np.ndarray, box: Sequence[float], fraction: float = 0.5,
                 min_valid_fraction: float = 0.1) -> Optional[float]:
    """
    Median depth of the box's central region after dropping outliers; None if unknown.

    Invalid pixels (non-finite, zero or negative: no return) are ignored; of
    the rest, values more than ``OUTLIER_MADS`` robust standard deviations from
    the median are dropped. None when fewer than ``min_valid_fraction`` of the
    region's pixels are valid, or the box has a non-finite coordinate (a
    detection from a broken or hostile publisher).
    """
    try:
        left, top, right, bottom = central_region(box, fraction, depth.shape[:2])
    except ValueError:
        return None
    region = depth[top:bottom, left:right].astype(np.float64, copy=False).ravel()
    valid = region[np.isfinite(region) & (region > 0)]
    if valid.size == 0 or valid.size < min_valid_fraction * region.size:
        return None
    median = np.median(valid)
    spread = _MAD_TO_SIGMA * np.median(np.abs(valid - median))
    if spread > 0:
        valid = valid[np.abs(valid - median) <= OUTLIER_MADS * spread]
    return float(np.median(valid))


def back_project_point(u: float, v: float, z: float,
                       intrinsics: Intrinsics) -> Tuple[float, float, float]:
    """Pixel ``(u, v)`` at depth ``z`` -> point in the camera's optical frame."""
    return ((u - intrinsics.cx) * z / intrinsics.fx, (v - intrinsics.cy) * z / intrinsics.fy, z)


def box_extent(box: Sequence[float], z: float, intrinsics: Intrinsics) -> Tuple[float, float]:
    """Width and height in metres that the box spans at depth ``z``."""
    x0, y0, x1, y1 = box
    return (x1 - x0) * z / intrinsics.fx, (y1 - y0) * z / intrinsics.fy
