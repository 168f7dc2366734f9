"""
Publish a bag onto live topics at the recorded rate, with ``/clock``.

For testing nodes in a running graph where rosbag2 is not installed. Messages
go out as the recorded CDR bytes (no decoding), on reliable keep-last
publishers, which both reliable and best-effort subscribers receive.
"""
import time
from typing import Callable, Sequence

from rclpy.node import Node
from rosgraph_msgs.msg import Clock

from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.tools.recorded.bags import BagReader, message_class

QUEUE_DEPTH = 10


def publish_bag(node: Node, path, topics: Sequence[str] = (), rate: float = 1.0,
                on_message: Callable[[], None] = lambda: None,
                wait_for_subscribers_s: float = 0.0) -> int:
    """
    Publish the bag's messages (all topics unless ``topics``) on ``node``; returns the count.

    ``rate`` scales the recorded timing (2.0 is twice as fast). With
    ``wait_for_subscribers_s``, publishing starts once every topic has a
    subscriber or that time has passed, so a freshly started graph misses nothing.
    """
    if rate <= 0:
        raise ValueError(f'rate must be positive, got {rate}')
    qos = stream_qos('reliable', QUEUE_DEPTH)
    with BagReader(path) as reader:
        chosen = _check_topics(reader.topics, topics)
        publishers = {topic: node.create_publisher(message_class(kind), topic, qos)
                      for topic, kind in chosen.items()}
        clock = node.create_publisher(Clock, '/clock', qos)
        try:
            _wait_for_subscribers(publishers.values(), wait_for_subscribers_s)
            return _play(reader.messages(set(chosen)), publishers, clock, rate, on_message,
                         node.context)
        finally:
            for publisher in (*publishers.values(), clock):
                node.destroy_publisher(publisher)


def _play(messages, publishers, clock, rate, on_message, context) -> int:
    start_wall, start_bag, published = time.monotonic(), None, 0
    for message in messages:
        start_bag = message.timestamp if start_bag is None else start_bag
        delay = start_wall + (message.timestamp - start_bag) / 1e9 / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if not context.ok():
            break
        stamp = Clock()
        stamp.clock.sec, stamp.clock.nanosec = divmod(message.timestamp, 10**9)
        clock.publish(stamp)
        publishers[message.topic].publish(bytes(message.data))
        published += 1
        on_message()
    return published


def _check_topics(available, requested):
    missing = [t for t in requested if t not in available]
    if missing:
        raise ValueError(f"no topic {', '.join(missing)} in the bag; it has "
                         f"{', '.join(sorted(available))}")
    return {t: kind for t, kind in available.items() if not requested or t in requested}


def _wait_for_subscribers(publishers, timeout_s: float, poll_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(p.get_subscription_count() > 0 for p in publishers):
            return
        time.sleep(poll_s)
