"""--realtime: a bag published on live topics at the recorded rate, with /clock."""
import threading
import time

import pytest
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image

from depth_trt_ros.ros.live_replay import publish_bag
from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.ros.sample_bag import IMAGE_TOPIC, START_NS, write_sample_bag

FRAMES, RATE_HZ = 5, 10.0


@pytest.fixture(scope='module')
def sample_bag(tmp_path_factory):
    path = tmp_path_factory.mktemp('live') / 'sample'
    write_sample_bag(path, frames=FRAMES, rate_hz=RATE_HZ)
    return path


class Recorder(Node):
    """A reliable and a best-effort image subscriber, and a /clock subscriber."""

    def __init__(self):
        super().__init__('replay_test_recorder')
        self.images = {'reliable': [], 'best_effort': []}
        self.clock = []
        for kind, received in self.images.items():
            self.create_subscription(Image, IMAGE_TOPIC, received.append, stream_qos(kind, 10))
        self.create_subscription(Clock, '/clock', self.clock.append, stream_qos('reliable', 10))


@pytest.mark.ros
def test_realtime_reaches_both_kinds_of_subscriber_at_the_recorded_rate(ros_context,
                                                                        sample_bag):
    recorder, player = Recorder(), Node('replay_test_player')
    executor = SingleThreadedExecutor()
    executor.add_node(recorder)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        started = time.monotonic()
        published = publish_bag(player, sample_bag, wait_for_subscribers_s=5.0)
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and min(map(len, recorder.images.values())) < FRAMES:
            time.sleep(0.05)
    finally:
        executor.shutdown()
        spinner.join()
        recorder.destroy_node()
        player.destroy_node()
    assert published == 3 * FRAMES, 'image, compressed and camera_info of every frame'
    assert elapsed >= (FRAMES - 1) / RATE_HZ * 0.9
    for kind, received in recorder.images.items():
        assert [m.header.stamp.nanosec for m in received] == \
            [int(i * 1e9 / RATE_HZ) for i in range(FRAMES)], kind
    last = recorder.clock[-1].clock
    assert last.sec * 10**9 + last.nanosec == START_NS + int((FRAMES - 1) * 1e9 / RATE_HZ)


def test_unknown_topic_and_bad_rate_are_refused(ros_context, sample_bag):
    player = Node('replay_test_refusals')
    try:
        with pytest.raises(ValueError, match='no topic /nope'):
            publish_bag(player, sample_bag, ['/nope'])
        with pytest.raises(ValueError, match='rate must be positive'):
            publish_bag(player, sample_bag, rate=0)
    finally:
        player.destroy_node()
