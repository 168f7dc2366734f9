"""Detections meet the depth of their own frame: exact first, then nearest within slop."""
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
