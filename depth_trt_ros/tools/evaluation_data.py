"""
Frames with ground-truth depth for ``evaluate``: a directory, a bag, or a built-in sample.

Every source yields :class:`Sample` (RGB uint8 and depth in metres, 0 or
non-finite where there is no ground truth). What cannot be evaluated is
refused with a ``ValueError`` naming the file and the fix: an unreadable image,
a depth file of another kind, ground truth of another size than its image.
Such a size is not resized: it means the depth is not registered to the image
(another sensor or resolution), and resizing would compare unaligned pixels.
"""
from dataclasses import dataclass
import logging
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg')
# Calibration of skimage's quarter-size Middlebury 2014 motorcycle (its docstring).
MOTORCYCLE_FOCAL_PX = 994.978
MOTORCYCLE_BASELINE_M = 0.193001
MOTORCYCLE_DOFFS_PX = 31.086
_LOG = logging.getLogger('evaluate')
REGISTER_FIX = ('give depth registered to the image at its resolution (resizing would '
                'compare unaligned pixels)')


@dataclass
class Sample:
    """One RGB frame and its ground-truth depth in metres; ``source`` names the latter."""

    name: str
    rgb: np.ndarray
    depth_m: np.ndarray
    source: str


def check_same_size(rgb: np.ndarray, depth: np.ndarray, depth_source: str,
                    image_source: str):
    """Refuse ground truth whose size is not that of its image (see the module)."""
    if depth.shape != rgb.shape[:2]:
        raise ValueError(f'{depth_source}: ground truth is {depth.shape[1]}x{depth.shape[0]} '
                         f'but {image_source} is {rgb.shape[1]}x{rgb.shape[0]} — '
                         f'{REGISTER_FIX}')


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
        raise ValueError(
            f'the built-in sample (skimage.data.stereo_motorcycle) is unavailable: {error}. '
            'Install scikit-image >= 0.19 (it ships the files) or pass --data / --bag '
            'with your own ground truth') from error
    with np.errstate(divide='ignore'):
        depth = MOTORCYCLE_FOCAL_PX * MOTORCYCLE_BASELINE_M / (disparity + MOTORCYCLE_DOFFS_PX)
    depth[~np.isfinite(disparity)] = 0.0
    return Sample('middlebury-motorcycle', left, depth.astype(np.float32),
                  'skimage.data.stereo_motorcycle')


def read_depth_file(path: Path) -> np.ndarray:
    """Depth in metres from a 16-bit PNG in millimetres or a ``.npy`` in metres."""
    if path.suffix == '.npy':
        try:
            depth = np.load(path)
        except (ValueError, OSError, EOFError) as error:  # not an .npy, or pickled objects
            raise ValueError(f'{path}: not a .npy file of numbers — save depth in metres '
                             'with numpy.save') from error
        if depth.ndim != 2 or depth.dtype.kind not in 'iuf':
            raise ValueError(f'{path}: holds a {depth.dtype} array of shape {depth.shape} — '
                             'ground truth .npy must be one [H, W] array of metres')
        return depth.astype(np.float32)
    depth = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if depth is None or depth.dtype != np.uint16 or depth.ndim != 2:
        raise ValueError(f'{path}: ground truth must be a single-channel 16-bit PNG in mm '
                         'or a .npy in metres')
    return depth.astype(np.float32) / 1000


def read_rgb_file(path: Path) -> np.ndarray:
    """RGB uint8 pixels of a PNG or JPEG."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f'{path}: OpenCV cannot read this image — replace it with a '
                         'readable PNG or JPEG, or remove it')
    return bgr[..., ::-1]


def directory_samples(root) -> Iterator[Sample]:
    """``root/rgb/NAME.{png,jpg}`` with ``root/depth/NAME.{png,npy}``, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f'{root}: no such directory — give a directory with rgb/NAME.png|jpg '
                         'and depth/NAME.png|npy')
    images = sorted(p for p in (root / 'rgb').glob('*') if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise ValueError(f'no images in {root / "rgb"}: expected rgb/NAME.png|jpg and '
                         'depth/NAME.png|npy')
    for image in images:
        candidates = [root / 'depth' / (image.stem + s) for s in ('.png', '.npy')]
        depth_path = next((c for c in candidates if c.exists()), None)
        if depth_path is None:
            raise ValueError(f'no ground truth for {image.name} in {root / "depth"} — add '
                             f'{image.stem}.png (16-bit mm) or {image.stem}.npy (m) there, or '
                             'remove the image')
        rgb, depth = read_rgb_file(image), read_depth_file(depth_path)
        check_same_size(rgb, depth, str(depth_path), image.name)
        yield Sample(image.stem, rgb, depth, str(depth_path))


def bag_samples(path, image_topic: str, depth_topic: str) -> Iterator[Sample]:
    """
    Image and depth messages of a bag paired by header stamp.

    Messages that do not decode (malformed bytes, a frame the conversion module
    refuses) are skipped, and counted by reason in a warning.
    """
    from depth_trt_ros.tools.recorded.bags import BagReader
    from depth_trt_ros.ros.conversions import image_to_depth, message_to_pixels
    from depth_trt_ros.tools.bag_input import decoded

    def stamp_and_pixels(message):
        msg = message.decode()
        pixels = (message_to_pixels(msg).rgb() if message.topic == image_topic
                  else image_to_depth(msg))
        return (msg.header.stamp.sec, msg.header.stamp.nanosec), pixels

    images, depths = {}, {}
    with BagReader(path) as bag:
        messages = bag.messages({image_topic, depth_topic})
        for message, (stamp, pixels) in decoded(messages, stamp_and_pixels, path, _LOG):
            (images if message.topic == image_topic else depths)[stamp] = pixels
    paired = sorted(set(images) & set(depths))
    if not paired:
        raise ValueError(f'{path}: no {image_topic} and {depth_topic} messages share a header '
                         'stamp — pass the topics of images and their depth with '
                         '--image-topic and --depth-topic')
    for sec, nanosec in paired:
        name = f'{sec}.{nanosec:09d}'
        source = f'{path} {depth_topic} at {name}'
        check_same_size(images[(sec, nanosec)], depths[(sec, nanosec)], source,
                        f'{image_topic} at {name}')
        yield Sample(name, images[(sec, nanosec)], depths[(sec, nanosec)], source)
