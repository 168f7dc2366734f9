"""
``depth-trt-ros verify``: how far one model/backend/precision is from another.

Both run through DepthEstimator on the same real frames; per image it reports
the relative error ``|a - b| / |b|`` of the raw depth and the largest absolute
difference after min-max normalising each map to [0, 1] (what a colorized
view shows). It exits 1 when any image's relative error exceeds --tolerance,
so it can gate a freshly built engine on the robot.
"""
import argparse
from dataclasses import dataclass
import math
from pathlib import Path
from typing import List, Sequence, Tuple

import cv2
import numpy as np
import torch

from depth_trt_ros.inference.backends import BACKEND_NAMES, build_backend
from depth_trt_ros.inference.backends.base import PRECISIONS
from depth_trt_ros.inference.estimator import DepthEstimator
from depth_trt_ros.inference.preprocess import DEFAULT_INPUT_SIZE

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
DEFAULT_IMAGES = ('astronaut', 'chelsea', 'coffee')


def register(subparsers):
    parser = subparsers.add_parser(
        'verify', help='compare depth from two models/backends/precisions on real frames',
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', required=True, help='model, ONNX or engine under test')
    parser.add_argument('--reference', required=True, help='model, ONNX or engine to trust')
    parser.add_argument('--images', type=Path,
                        help='directory of RGB images (default: scikit-image samples '
                        f"{', '.join(DEFAULT_IMAGES)})")
    parser.add_argument('--backend', choices=BACKEND_NAMES, default='auto')
    parser.add_argument('--reference-backend', choices=BACKEND_NAMES, default='auto')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        help='device for both (default: %(default)s)')
    # auto as in the node: fp16 on CUDA, fp32 on the CPU, an engine's own precision.
    parser.add_argument('--precision', choices=('auto',) + PRECISIONS, default='auto')
    parser.add_argument('--reference-precision', choices=('auto',) + PRECISIONS,
                        default='fp32')
    parser.add_argument('--input-size', type=int, default=DEFAULT_INPUT_SIZE)
    parser.add_argument('--tolerance', type=float, default=0.02,
                        help='largest relative error accepted per image (default: %(default)s)')
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class DepthError:
    """How far one depth map is from its reference."""

    relative: float
    max_abs_normalized: float


def _normalized(depth: np.ndarray) -> np.ndarray:
    low, high = float(depth.min()), float(depth.max())
    return (depth - low) / (high - low) if high > low else np.zeros_like(depth)


def compare_depth(depth: np.ndarray, reference: np.ndarray) -> DepthError:
    """Relative error of ``depth`` against ``reference`` and max abs after normalisation."""
    if depth.shape != reference.shape:
        raise ValueError(f'depth {depth.shape} and reference {reference.shape} differ in shape')
    depth, reference = depth.astype(np.float64), reference.astype(np.float64)
    relative = np.linalg.norm(depth - reference) / max(np.linalg.norm(reference), 1e-12)
    gap = np.abs(_normalized(depth) - _normalized(reference)).max()
    return DepthError(float(relative), float(gap))


def overall_error(pairs: Sequence[Tuple[np.ndarray, np.ndarray]]) -> DepthError:
    """Errors over all images: pooled relative error, worst normalised difference."""
    squared_gap = sum(float(np.sum((a.astype(np.float64) - b) ** 2)) for a, b in pairs)
    squared_ref = sum(float(np.sum(b.astype(np.float64) ** 2)) for _, b in pairs)
    worst = max(compare_depth(a, b).max_abs_normalized for a, b in pairs)
    return DepthError(math.sqrt(squared_gap) / max(math.sqrt(squared_ref), 1e-12), worst)


def load_images(directory: Path) -> List[Tuple[str, np.ndarray]]:
    """Every image in ``directory`` as ``(name, uint8 RGB)``, sorted by name."""
    if not directory.is_dir():
        raise ValueError(f"image directory '{directory}' does not exist")
    images = []
    for path in sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"'{path}' is not a readable image: remove it or convert it")
        images.append((path.name, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    if not images:
        raise ValueError(f"'{directory}' holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return images


def default_images() -> List[Tuple[str, np.ndarray]]:
    """Real photographs that scikit-image ships, so verify needs no download."""
    from skimage import data

    return [(name, np.ascontiguousarray(getattr(data, name)()[..., :3]))
            for name in DEFAULT_IMAGES]


def _estimate_all(backend_name, model, device, precision, input_size, images):
    """Return the depth of every image and the backend that made it (auto resolved)."""
    backend = build_backend(backend_name, model, device, precision)
    estimator = DepthEstimator(backend, input_size)
    try:
        return [estimator.estimate(image).depth for _, image in images], backend.info()
    finally:
        estimator.close()


def run(args) -> int:
    images = load_images(args.images) if args.images else default_images()
    tested, tested_by = _estimate_all(args.backend, args.model, args.device, args.precision,
                                      args.input_size, images)
    trusted, trusted_by = _estimate_all(args.reference_backend, args.reference, args.device,
                                        args.reference_precision, args.input_size, images)
    print(f'{args.model} ({tested_by.backend}, {tested_by.precision}) vs '
          f'{args.reference} ({trusted_by.backend}, {trusted_by.precision}) on '
          f'{tested_by.device}')
    print(f"{'image':24} {'relative':>10} {'max abs (normalised)':>22}")
    errors = [compare_depth(depth, reference) for depth, reference in zip(tested, trusted)]
    for (name, _), error in zip(images, errors):
        print(f'{name[:24]:24} {error.relative:10.2e} {error.max_abs_normalized:22.2e}')
    total = overall_error(list(zip(tested, trusted)))
    print(f"{'overall':24} {total.relative:10.2e} {total.max_abs_normalized:22.2e}")
    # np.max propagates NaN (non-finite depth), which then fails the check below.
    worst = float(np.max([error.relative for error in errors]))
    if not worst <= args.tolerance:
        print(f'FAIL: worst relative error {worst:.2e} exceeds tolerance {args.tolerance:.2e}')
        return 1
    print(f'OK: worst relative error {worst:.2e} within tolerance {args.tolerance:.2e}')
    return 0
