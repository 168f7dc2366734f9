"""
Run by test_depth_node: a depth_node whose model, like an engine, has a size profile.

Frames wider than ``MAX_WIDTH`` are outside it; the torch model underneath
would take them, so only the node's check can keep them out.
"""
import sys

from depth_trt_ros.inference import service
from depth_trt_ros.inference.backends import build_backend, UnsupportedFrameSize
from depth_trt_ros.ros.depth_node import main

MAX_WIDTH = 96


def _narrow_engine(*args, **kwargs):
    backend = build_backend(*args, **kwargs)

    def check_frame_size(height, width, input_size, batch=1):
        if width > MAX_WIDTH:
            raise UnsupportedFrameSize(f'{width} px wide frames are outside the stand-in '
                                       f'profile (at most {MAX_WIDTH}): rebuild the engine')
    backend.check_frame_size = check_frame_size
    backend.warmup_frame_size = (72, MAX_WIDTH)
    return backend


if __name__ == '__main__':
    service.build_backend = _narrow_engine
    sys.exit(main())
