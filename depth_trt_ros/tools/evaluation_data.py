"""
Frames with ground-truth depth for ``evaluate``: a directory, a bag, or a built-in sample.

Every source yields :class:`Sample` (RGB uint8 and depth in metres, 0 or
non-finite where there is no ground truth).
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg')
# Calibration of skimage's quarter-size Middlebury 2014 motorcycle (its docstring).
MOTORCYCLE_FOCAL_PX = 994.978
MOTORCYCLE_BASELINE_M = 0.193001
MOTORCYCLE_DOFFS_PX = 31.086


@dataclass
class Sample:
    """One RGB frame and its ground-truth depth in metres."""

    name: str
    rgb: np.ndarray
    depth_m: np.ndarray


def motorcycle_sample() -> Sample:
    """
    Middlebury 2014 motorcycle from scikit-image, disparity turned into metres.

    The images ship inside scikit-image's wheel, so no download is needed; if a
    build without them tries to fetch and cannot, the error says what to do.
    """
    from skimage import data
    try:
        left, _, disparity = data.stereo_motorcycle()
    except (OSError, ValueError, ImportError) as error:
        raise RuntimeError(
            f'the built-in sample (skimage.data.stereo_motorcycle) is unavailable: {error}. '
            'Install scikit-image >= 0.19 (it ships the files) or pass --data / --bag '
            'with your own ground truth') from error
    with np.errstate(divide='ignore'):
        depth = MOTORCYCLE_FOCAL_PX * MOTORCYCLE_BASELINE_M / (disparity + MOTORCYCLE_DOFFS_PX)
    depth[~np.isfinite(disparity)] = 0.0
    return Sample('middlebury-motorcycle', left, depth.astype(np.float32))


def read_depth_file(path: Path) -> np.ndarray:
    """Depth in metres from a 16-bit PNG in millimetres or a ``.npy`` in metres."""
    if path.suffix == '.npy':
        return np.load(path).astype(np.float32)
    depth = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if depth is None or depth.dtype != np.uint16 or depth.ndim != 2:
        raise ValueError(f'{path}: ground truth must be a single-channel 16-bit PNG in mm '
                         'or a .npy in metres')
    return depth.astype(np.float32) / 1000


def directory_samples(root) -> Iterator[Sample]:
    """``root/rgb/NAME.{png,jpg}`` with ``root/depth/NAME.{png,npy}``, sorted by name."""
    root = Path(root)
    images = sorted(p for p in (root / 'rgb').glob('*') if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise ValueError(f'no images in {root / "rgb"}: expected rgb/NAME.png|jpg and '
                         'depth/NAME.png|npy')
    for image in images:
        candidates = [root / 'depth' / (image.stem + s) for s in ('.png', '.npy')]
        depth_path = next((c for c in candidates if c.exists()), None)
        if depth_path is None:
            raise ValueError(f'no ground truth for {image.name} in {root / "depth"}')
        bgr = cv2.imread(str(image), cv2.IMREAD_COLOR)
        yield Sample(image.stem, bgr[..., ::-1], read_depth_file(depth_path))


def bag_samples(path, image_topic: str, depth_topic: str) -> Iterator[Sample]:
    """Image and depth messages of a bag paired by header stamp."""
    from depth_trt_ros.ros.bags import BagReader
    from depth_trt_ros.ros.conversions import image_to_depth, message_to_pixels

    images, depths = {}, {}
    with BagReader(path) as bag:
        for message in bag.messages({image_topic, depth_topic}):
            msg = message.decode()
            stamp = (msg.header.stamp.sec, msg.header.stamp.nanosec)
            if message.topic == image_topic:
                images[stamp] = message_to_pixels(msg).rgb()
            else:
                depths[stamp] = image_to_depth(msg)
    paired = sorted(set(images) & set(depths))
    if not paired:
        raise ValueError(f'no {image_topic} and {depth_topic} messages share a header stamp')
    for sec, nanosec in paired:
        yield Sample(f'{sec}.{nanosec:09d}', images[(sec, nanosec)], depths[(sec, nanosec)])
