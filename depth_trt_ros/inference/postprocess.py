"""Network output -> depth at the camera's resolution, and a colorized view."""
import cv2
import numpy as np
import torch
import torch.nn.functional as F

COLORMAPS = {
    'inferno': cv2.COLORMAP_INFERNO, 'turbo': cv2.COLORMAP_TURBO, 'jet': cv2.COLORMAP_JET,
    'viridis': cv2.COLORMAP_VIRIDIS, 'magma': cv2.COLORMAP_MAGMA,
    'plasma': cv2.COLORMAP_PLASMA, 'gray': None,
}


def resize_depth(predicted: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``[B, h, w]`` (or ``[B, 1, h, w]``) -> float32 ``[B, height, width]``, bicubic."""
    depth = predicted.float().reshape(predicted.shape[0], 1, *predicted.shape[-2:])
    if depth.shape[-2:] != (height, width):
        depth = F.interpolate(depth, size=(height, width), mode='bicubic', align_corners=False)
    return depth.squeeze(1)


def colormap_lut(name: str, device: torch.device) -> torch.Tensor:
    """Return a ``[256, 3]`` uint8 BGR lookup table for ``name`` (OpenCV's colormaps)."""
    if name not in COLORMAPS:
        raise ValueError(f"colormap '{name}' is not one of {sorted(COLORMAPS)}")
    ramp = np.arange(256, dtype=np.uint8).reshape(256, 1)
    code = COLORMAPS[name]
    table = np.repeat(ramp, 3, axis=1) if code is None else cv2.applyColorMap(ramp, code)[:, 0]
    return torch.from_numpy(np.ascontiguousarray(table)).to(device)


def colorize(depth: torch.Tensor, lut: torch.Tensor, inverse: bool) -> torch.Tensor:
    """
    Map one ``[H, W]`` depth map to ``[H, W, 3]`` uint8 BGR, near = bright.

    Relative models output inverse depth (large = near); metric depth is
    flipped so that near is bright in both. Non-finite pixels become black.
    """
    finite = torch.isfinite(depth)
    values = depth if inverse else -depth
    # Reductions through torch.where, not boolean indexing: no host synchronisation.
    low = torch.where(finite, values, float('inf')).amin()
    high = torch.where(finite, values, float('-inf')).amax()
    scale = 255.0 / torch.clamp(high - low, min=1e-12)
    index = torch.nan_to_num((values - low) * scale, nan=0.0, posinf=0.0, neginf=0.0)
    image = lut[index.clamp_(0, 255).to(torch.long)]
    return torch.where(finite.unsqueeze(-1), image, torch.zeros_like(image))
