"""
Engine input shapes: optimization profiles derived from camera resolutions.

Pure functions shared by the engine builder, the sidecar checks and the
TensorRT backend, so that CI tests them without TensorRT or a GPU.
"""
from dataclasses import dataclass
import re
from typing import Dict, List, Sequence, Tuple

from depth_trt_ros.inference.preprocess import DEFAULT_INPUT_SIZE, network_input_size

Shape = Tuple[int, ...]
DEFAULT_CAMERAS = ('640x480', '1280x720')
_CAMERA_PATTERN = re.compile(r'^\s*(\d+)\s*[xX]\s*(\d+)\s*$')


def parse_camera(text: str) -> Tuple[int, int]:
    """Parse ``WIDTHxHEIGHT`` (``640x480``) into ``(width, height)``."""
    match = _CAMERA_PATTERN.match(text)
    if not match or 0 in (int(match.group(1)), int(match.group(2))):
        raise ValueError(f"camera resolution '{text}' is not WIDTHxHEIGHT with positive "
                         "sides, e.g. 640x480")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class EngineProfile:
    """Min/opt/max ``pixel_values`` shapes ``(B, 3, H, W)`` of one optimization profile."""

    min_shape: Shape
    opt_shape: Shape
    max_shape: Shape

    def contains(self, shape: Sequence[int]) -> bool:
        """Whether an input of ``shape`` can run under this profile."""
        shape = tuple(shape)
        return (len(shape) == len(self.min_shape)
                and all(low <= value <= high
                        for low, value, high in zip(self.min_shape, shape, self.max_shape)))

    def describe(self) -> str:
        """``batch 1-4, height 518-518, width 686-924``, for messages."""
        axes = zip(('batch', 'height', 'width'), self.min_shape[::2] + self.min_shape[3:],
                   self.max_shape[::2] + self.max_shape[3:])
        return ', '.join(f'{axis} {low}-{high}' for axis, low, high in axes)

    def to_dict(self) -> Dict[str, List[int]]:
        return {'min': list(self.min_shape), 'opt': list(self.opt_shape),
                'max': list(self.max_shape)}

    @classmethod
    def from_dict(cls, data: Dict[str, Sequence[int]]) -> 'EngineProfile':
        return cls(tuple(data['min']), tuple(data['opt']), tuple(data['max']))


def profile_for_cameras(cameras: Sequence[Tuple[int, int]],
                        input_size: int = DEFAULT_INPUT_SIZE,
                        max_batch: int = 1) -> EngineProfile:
    """
    Return the smallest profile that covers every camera ``(width, height)``.

    Each camera maps through ``network_input_size`` (the node's resize rule),
    so the engine sees the aspect-preserving size the node will feed it, not
    a distorting square. The first camera is the one TensorRT tunes for.
    """
    if not cameras:
        raise ValueError('give at least one camera resolution, e.g. --camera 640x480')
    if max_batch < 1:
        raise ValueError(f'max batch must be at least 1, got {max_batch}')
    sizes = [network_input_size(height, width, input_size) for width, height in cameras]
    heights = [h for h, _ in sizes]
    widths = [w for _, w in sizes]
    return EngineProfile(min_shape=(1, 3, min(heights), min(widths)),
                         opt_shape=(1, 3, *sizes[0]),
                         max_shape=(max_batch, 3, max(heights), max(widths)))


def output_shape(input_shape: Sequence[int]) -> Shape:
    """
    ``predicted_depth`` shape for ``pixel_values`` ``(B, 3, H, W)``: ``(B, H, W)``.

    Depth-Anything's head upsamples back to the (patch-multiple) input size.
    """
    if len(input_shape) != 4 or input_shape[1] != 3:
        raise ValueError(f'pixel_values must be (batch, 3, height, width), got '
                         f'{tuple(input_shape)}')
    batch, _, height, width = input_shape
    return batch, height, width
