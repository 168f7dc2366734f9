"""
Depth-Anything-V2 input transform, on the backend's device.

Reproduces transformers' ``DPTImageProcessor`` as Depth-Anything-V2 ships it
(``keep_aspect_ratio``, 518, ``ensure_multiple_of=14``, bicubic, /255,
ImageNet mean/std) with torch ops, so a frame is uploaded once as uint8 and
never touches the CPU again.
"""
from dataclasses import dataclass
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PATCH_MULTIPLE = 14
DEFAULT_INPUT_SIZE = 518


def _constrain_to_multiple_of(value: float, multiple: int) -> int:
    rounded = round(value / multiple) * multiple
    if rounded < multiple:
        rounded = math.ceil(value / multiple) * multiple
    return int(rounded)


def network_input_size(height: int, width: int, input_size: int = DEFAULT_INPUT_SIZE,
                       multiple: int = PATCH_MULTIPLE) -> Tuple[int, int]:
    """
    Return the (height, width) the network sees for a frame of this size.

    The same rule as transformers: scale both sides by the factor closest to
    one (the short side lands on ``input_size``), then round each side to a
    multiple of the patch size. Engine profiles are derived from it too.
    """
    if height <= 0 or width <= 0:
        raise ValueError(f'image size must be positive, got {height}x{width}')
    scale_h = input_size / height
    scale_w = input_size / width
    scale = scale_w if abs(1 - scale_w) < abs(1 - scale_h) else scale_h
    return (_constrain_to_multiple_of(scale * height, multiple),
            _constrain_to_multiple_of(scale * width, multiple))


@dataclass(frozen=True)
class Preprocessor:
    """
    uint8 HxWx3 RGB frames -> normalized NCHW tensor on ``device``.

    ``fixed_size`` ``(height, width)``: resize every frame to exactly that
    size (aspect ratio not kept), for engines built for one input size.
    """

    input_size: int = DEFAULT_INPUT_SIZE
    device: torch.device = torch.device('cpu')
    dtype: torch.dtype = torch.float32
    fixed_size: Optional[Tuple[int, int]] = None

    def __post_init__(self):
        mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1) * 255.0
        std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1) * 255.0
        object.__setattr__(self, '_mean', mean)
        object.__setattr__(self, '_std', std)

    def network_size(self, height: int, width: int) -> Tuple[int, int]:
        """Return the (height, width) a frame of this size is resized to."""
        return self.fixed_size or network_input_size(height, width, self.input_size)

    def __call__(self, frames: torch.Tensor, bgr: bool = False) -> torch.Tensor:
        """Transform a uint8 batch ``[B, H, W, 3]`` (RGB, or BGR if ``bgr``) on ``device``."""
        if frames.dim() == 3:
            frames = frames.unsqueeze(0)
        height, width = frames.shape[1:3]
        target = self.network_size(height, width)
        pixels = frames.permute(0, 3, 1, 2).float()
        if bgr:
            pixels = pixels.flip(1)
        if target != (height, width):
            pixels = F.interpolate(pixels, size=target, mode='bicubic',
                                   align_corners=False, antialias=True)
            # The reference resizes 8-bit images with PIL, which rounds and clips.
            pixels = pixels.round_().clamp_(0.0, 255.0)
        pixels = (pixels - self._mean) / self._std
        return pixels.to(self.dtype).contiguous()
