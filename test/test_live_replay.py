"""--realtime: a bag published on live topics at the recorded rate, with /clock."""
import time

import pytest
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image

from conftest import Collector
from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.tools.recorded.live_replay import publish_bag
from depth_trt_ros.tools.recorded.sample_bag import IMAGE_TOPIC, START_NS, write_sample_bag

pytestmark = pytest.mark.ros
FRAMES, RATE_HZ = 5, 10.0


@pytest.fixture(scope='module')
def sample_bag(tmp_path_factory):
    path = tmp_path_factory.mktemp('live') / 'sample'
    write_sample_bag(path, frames=FRAMES, rate_hz=RATE_HZ)
    return path


def test_realtime_reaches_both_kinds_of_subscriber_at_the_recorded_rate(ros, sample_bag):
    images = {kind: Collector(ros, Image, IMAGE_TOPIC, stream_qos(kind, 10))
              for kind in ('reliable', 'best_effort')}
    clock = Collector(ros, Clock, '/clock', stream_qos('reliable', 10))
    started = time.monotonic()
    published = publish_bag(ros, sample_bag, [IMAGE_TOPIC], wait_for_subscribers_s=10.0)
    elapsed = time.monotonic() - started
    assert published == FRAMES
    assert elapsed >= (FRAMES - 1) / RATE_HZ * 0.9
    for kind, collector in images.items():
        received = collector.wait(FRAMES, timeout=5)
        assert [m.header.stamp.nanosec for m in received] == \
            [int(i * 1e9 / RATE_HZ) for i in range(FRAMES)], kind
        collector.close()
    last = clock.wait(FRAMES, timeout=5)[-1].clock
    assert last.sec * 10**9 + last.nanosec == START_NS + int((FRAMES - 1) * 1e9 / RATE_HZ)
    clock.close()


def test_unknown_topic_and_bad_rate_are_refused(ros, sample_bag):
    with pytest.raises(ValueError, match='no topic /nope'):
        publish_bag(ros, sample_bag, ['/nope'])
    with pytest.raises(ValueError, match='rate must be positive'):
        publish_bag(ros, sample_bag, rate=0)
