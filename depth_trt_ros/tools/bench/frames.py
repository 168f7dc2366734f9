"""Benchmark input: synthetic camera frames, or the images of a rosbag."""
from itertools import islice
import logging
from typing import List, Optional, Tuple

import numpy as np

from depth_trt_ros.ros.conversions import message_to_pixels
from depth_trt_ros.tools.bag_input import decoded

_LOG = logging.getLogger('bench')


def parse_size(text: str) -> Tuple[int, int]:
    """``640x480`` -> (width, height)."""
    try:
        width, height = (int(part) for part in text.lower().split('x'))
    except ValueError as error:
        raise ValueError(f"size '{text}' is not WIDTHxHEIGHT, e.g. 640x480") from error
    if width <= 0 or height <= 0:
        raise ValueError(f"size '{text}' must be positive")
    return width, height


def synthetic_frames(width: int, height: int, count: int = 4) -> List[np.ndarray]:
    """Distinct uint8 RGB frames with gradients and texture, like a scene, not flat noise."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    generator = np.random.default_rng(0)
    frames = []
    for index in range(count):
        phase = index * 0.7
        base = np.stack([127 + 120 * np.sin(cols / 37.0 + phase),
                         127 + 120 * np.cos(rows / 23.0 - phase),
                         255 * (rows + cols) / (height + width)], axis=-1)
        noise = generator.normal(0, 12, size=(height, width, 3))
        frames.append(np.clip(base + noise, 0, 255).astype(np.uint8))
    return frames


def bag_frames(path: str, topic: Optional[str], limit: int) -> List[np.ndarray]:
    """
    Up to ``limit`` RGB frames of the named (or the first) image topic of a rosbag.

    Messages that do not decode are skipped and counted in a warning: a benchmark
    measures the frames it can run.
    """
    from depth_trt_ros.tools.recorded.bag_replay import choose_image_topics
    from depth_trt_ros.tools.recorded.bags import BagReader

    with BagReader(path) as reader:
        chosen = choose_image_topics(reader.topics, [topic] if topic else ())[0]
        rgb = decoded(reader.messages([chosen]),
                      lambda message: message_to_pixels(message.decode()).rgb(), path, _LOG)
        frames = [np.ascontiguousarray(frame) for _, frame in islice(rgb, limit)]
    if not frames:
        raise ValueError(f'{path}: topic {chosen} has no frame that decodes — record one, '
                         'or choose another image topic with --bag-topic')
    return frames


def load_frames(args, count: int = 4) -> List[np.ndarray]:
    """Return the frames a run feeds: from ``--bag`` if given, else synthetic ones."""
    if args.bag:
        return bag_frames(args.bag, args.bag_topic, count)
    return synthetic_frames(*parse_size(args.size), count)
