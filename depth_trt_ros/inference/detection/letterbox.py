"""
YOLO input transform on the device: resize keeping aspect ratio, pad to the network size.

Matches ultralytics' LetterBox for fixed-size exports (centred, grey 114 border,
bilinear resize, 0..1 RGB), so boxes decode the same as with ultralytics itself.
"""
from dataclasses import dataclass
from typing import Tuple

import torch
import torch.nn.functional as F

PAD_VALUE = 114


@dataclass(frozen=True)
class LetterboxGeometry:
    """Where a frame of ``image_size`` sits inside the network input."""

    image_size: Tuple[int, int]
    scale: float
    pad_left: int
    pad_top: int
    resized: Tuple[int, int]

    def to_image(self, boxes: torch.Tensor) -> torch.Tensor:
        """Map ``[K, 4]`` xyxy boxes from network pixels to image pixels, clipped."""
        offset = boxes.new_tensor([self.pad_left, self.pad_top, self.pad_left, self.pad_top])
        mapped = (boxes - offset) / self.scale
        height, width = self.image_size
        limit = boxes.new_tensor([width, height, width, height])
        return torch.minimum(mapped.clamp(min=0.0), limit)


def letterbox_geometry(height: int, width: int, network: Tuple[int, int]) -> LetterboxGeometry:
    """Scale to fit ``network`` (height, width) and centre, as ultralytics does."""
    if height <= 0 or width <= 0:
        raise ValueError(f'image size must be positive, got {height}x{width}')
    net_h, net_w = network
    scale = min(net_h / height, net_w / width)
    resized = (int(round(height * scale)), int(round(width * scale)))
    # ultralytics rounds the half-padding with a -0.1 bias: the extra pixel goes bottom/right.
    pad_top = int(round((net_h - resized[0]) / 2 - 0.1))
    pad_left = int(round((net_w - resized[1]) / 2 - 0.1))
    return LetterboxGeometry((height, width), scale, pad_left, pad_top, resized)


class Letterbox:
    """uint8 ``[B, H, W, 3]`` frames on the device -> ``[B, 3, h, w]`` RGB network input."""

    def __init__(self, network: Tuple[int, int], dtype: torch.dtype = torch.float32):
        self.network = tuple(network)
        self.dtype = dtype

    def geometry(self, height: int, width: int) -> LetterboxGeometry:
        return letterbox_geometry(height, width, self.network)

    def __call__(self, frames: torch.Tensor, bgr: bool = False) -> torch.Tensor:
        """Letterbox RGB frames (BGR if ``bgr``: swapped here, on the device)."""
        if frames.dim() == 3:
            frames = frames.unsqueeze(0)
        geometry = self.geometry(frames.shape[1], frames.shape[2])
        pixels = frames.permute(0, 3, 1, 2).float()
        if bgr:
            pixels = pixels.flip(1)
        if geometry.resized != tuple(frames.shape[1:3]):
            pixels = F.interpolate(pixels, size=geometry.resized, mode='bilinear',
                                   align_corners=False)
            # ultralytics resizes 8-bit images with OpenCV, which rounds.
            pixels = pixels.round_().clamp_(0.0, 255.0)
        net_h, net_w = self.network
        padding = (geometry.pad_left, net_w - geometry.resized[1] - geometry.pad_left,
                   geometry.pad_top, net_h - geometry.resized[0] - geometry.pad_top)
        pixels = F.pad(pixels, padding, value=float(PAD_VALUE))
        return (pixels / 255.0).to(self.dtype).contiguous()
