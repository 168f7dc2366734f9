"""
Frames the tools read from a bag, with those that do not decode skipped and counted.

A bag is untrusted input like a topic (see ``depth_trt_ros.ros.wire``): a tool
that measures or evaluates frames runs on those that decode and says, in one
warning, how many it skipped and why.
"""
from collections import Counter
import logging
from typing import Callable, Iterable, Iterator, Tuple, TypeVar

from depth_trt_ros.ros.conversions import BadImageError
from depth_trt_ros.ros.wire import MalformedMessage
from depth_trt_ros.tools.recorded.bags import BagMessage

Frame = TypeVar('Frame')


def decoded(messages: Iterable[BagMessage], convert: Callable[[BagMessage], Frame], path,
            log: logging.Logger) -> Iterator[Tuple[BagMessage, Frame]]:
    """
    Yield ``(message, convert(message))``, skipping messages that ``convert`` cannot decode.

    Skipped messages (malformed bytes, frames the conversion module refuses) are
    counted by topic and reason and logged once, when the iteration ends or stops.
    """
    skipped = Counter()
    try:
        for message in messages:
            try:
                frame = convert(message)
            except (MalformedMessage, BadImageError) as error:
                skipped[f'{message.topic} {error.category}'] += 1
                continue
            yield message, frame
    finally:
        if skipped:
            log.warning('%s: skipped %d message(s) that do not decode: %s', path,
                        sum(skipped.values()),
                        ', '.join(f'{count} {reason}' for reason, count in skipped.items()))
