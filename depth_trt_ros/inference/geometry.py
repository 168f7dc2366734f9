"""
Metric depth -> millimetres and organized point clouds, on the depth's device.

REP 118 conventions: depth in metres along the optical axis, NaN where
invalid; 16-bit millimetres use 0 for invalid.
"""
from dataclasses import dataclass

import torch

MAX_MILLIMETRES = 65535


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of the image the depth belongs to (pixels)."""

    fx: float
    fy: float
    cx: float
    cy: float

    def scaled(self, sx: float, sy: float) -> 'Intrinsics':
        """Return the intrinsics for an image resized by ``sx`` x ``sy``."""
        return Intrinsics(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy)


def mark_invalid(depth: torch.Tensor) -> torch.Tensor:
    """Replace non-positive metric depth with NaN (REP 118's 'no reading')."""
    return torch.where(depth > 0, depth, torch.full_like(depth, float('nan')))


def to_millimetres(depth: torch.Tensor) -> torch.Tensor:
    """Metres -> uint16 millimetres; invalid and out-of-range pixels become 0."""
    millimetres = torch.nan_to_num(depth * 1000.0, nan=0.0).round_()
    valid = (millimetres > 0) & (millimetres <= MAX_MILLIMETRES)
    return torch.where(valid, millimetres, torch.zeros_like(millimetres)).to(torch.int32) \
        .to(torch.uint16)


def back_project(depth: torch.Tensor, intrinsics: Intrinsics) -> torch.Tensor:
    """Return ``[H, W, 3]`` xyz in the optical frame for an ``[H, W]`` depth map."""
    height, width = depth.shape
    v, u = torch.meshgrid(torch.arange(height, device=depth.device, dtype=depth.dtype),
                          torch.arange(width, device=depth.device, dtype=depth.dtype),
                          indexing='ij')
    x = (u - intrinsics.cx) * depth / intrinsics.fx
    y = (v - intrinsics.cy) * depth / intrinsics.fy
    return torch.stack((x, y, depth), dim=-1)


def pack_rgb(points: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
    """Append PCL's packed ``rgb`` float (0x00RRGGBB bits) to ``[H, W, 3]`` points."""
    channels = rgb.to(torch.int32)
    packed = (channels[..., 0] << 16) | (channels[..., 1] << 8) | channels[..., 2]
    return torch.cat((points, packed.view(torch.float32).unsqueeze(-1)), dim=-1)
