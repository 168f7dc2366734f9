"""Detections meet the depth of their own frame: exact first, then nearest within slop."""
import time

import pytest

from depth_trt_ros.ros.stamp_sync import StampPairer

MS = 1_000_000


def make_pairer(slop_ms=20, queue=5):
    pairs, unmatched = [], []
    pairer = StampPairer(slop_ms * MS, queue, lambda p, s: pairs.append((p, s)),
                         unmatched.append)
    return pairer, pairs, unmatched


def test_detection_waits_for_the_depth_with_its_stamp():
    pairer, pairs, _ = make_pairer()
    pairer.add_primary(100 * MS, 'det100')
    pairer.add_secondary(90 * MS, 'depth90')      # close, but the exact one may still come
    assert pairs == []
    pairer.add_secondary(100 * MS, 'depth100')
    assert pairs == [('det100', 'depth100')]


def test_depth_first_pairs_at_once():
    pairer, pairs, _ = make_pairer()
    pairer.add_secondary(100 * MS, 'depth100')
    pairer.add_primary(100 * MS, 'det100')
    assert pairs == [('det100', 'depth100')]


def test_skipped_depth_falls_back_to_the_nearest_within_slop():
    pairer, pairs, unmatched = make_pairer(slop_ms=20)
    pairer.add_secondary(90 * MS, 'depth90')
    pairer.add_primary(100 * MS, 'det100')
    pairer.add_primary(200 * MS, 'det200')
    pairer.add_secondary(105 * MS, 'depth105')    # later than 100: depth100 will not come
    assert pairs == [('det100', 'depth105')]
    pairer.add_secondary(300 * MS, 'depth300')    # nothing within 20 ms of 200
    assert unmatched == ['det200']


def test_a_full_queue_gives_up_the_oldest():
    pairer, pairs, unmatched = make_pairer(queue=2)
    for stamp in (1, 2, 3):
        pairer.add_primary(stamp * 1000 * MS, f'det{stamp}')
    assert unmatched == ['det1'] and pairs == []


def test_a_detection_whose_depth_stopped_goes_out_after_the_timeout():
    pairer, pairs, unmatched = make_pairer(slop_ms=20)
    pairer.configure(20 * MS, 5, timeout_s=0.5)
    pairer.add_secondary(95 * MS, 'depth95')
    pairer.add_primary(100 * MS, 'det100')        # its depth may still come: it waits
    arrived = time.monotonic()
    pairer.expire(arrived + 0.4)
    assert pairs == [] and unmatched == []
    pairer.expire(arrived + 0.6)                  # none came: the nearest within slop
    assert pairs == [('det100', 'depth95')]
    pairer.add_primary(200 * MS, 'det200')
    pairer.expire(time.monotonic() + 0.6)         # nothing within slop: unmatched
    assert unmatched == ['det200']


@pytest.mark.ros
def test_distance_node_passes_detections_on_when_depth_never_comes(ros, start_node):
    from vision_msgs.msg import Detection2DArray, Detection3DArray

    from conftest import Collector, wait_for
    from depth_trt_ros.ros.qos import stream_qos

    namespace = '/depthless'
    reliable = stream_qos('reliable', 10)
    process = start_node({'qos': 'reliable', 'sync_timeout': 0.2}, namespace,
                         module='depth_trt_ros.ros.distance_node')
    found = ros.create_publisher(Detection2DArray, f'{namespace}/detections', reliable)
    out = Collector(ros, Detection3DArray, f'{namespace}/detections_3d', reliable)
    assert wait_for(lambda: found.get_subscription_count() > 0, 60), process.log_so_far()
    for sec in (1, 2, 3):
        msg = Detection2DArray()
        msg.header.stamp.sec = sec
        found.publish(msg)
    # Fewer than sync_queue: only the timeout lets them go, none would wait for a later one.
    assert wait_for(lambda: len(out.messages) == 3, 10), process.log_so_far()
    assert [m.header.stamp.sec for m in out.messages] == [1, 2, 3]
