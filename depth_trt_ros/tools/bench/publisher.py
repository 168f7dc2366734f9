"""
One camera of ``bench ros``: publishes frames at a rate, in its own process.

Run by the bench as ``python -m depth_trt_ros.tools.bench.publisher``. It prints
``ready`` once its node subscribes (or it gave up waiting), reads the end of the
warm-up (wall clock, s) from stdin, warms the graph up until then and prints
``warm``; it is silent while the graph drains and the bench reads the nodes'
counters, reads the start time from stdin, then sends the measured frames,
numbered from 0 in ``header.frame_id`` and stamped with the wall clock at
publication. It prints one JSON line: what it
sent, at which rate, and whether its node had matched.
"""
import argparse
import json
import sys
import time
from typing import List, Optional, Tuple

import rclpy
from rclpy.duration import Duration
from sensor_msgs.msg import Image

from depth_trt_ros.ros.conversions import fill_image
from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.ros.runtime import ros_context
from depth_trt_ros.tools.bench.frames import load_frames
from depth_trt_ros.tools.bench.stats import percentiles

WARMUP_FRAME_ID = 'warmup'
ACK_TIMEOUT_S = 5.0


def publish_until(publisher, messages, rate: float, until: float, numbered: bool,
                  call_ms: Optional[List[float]] = None) -> Tuple[int, int]:
    """
    Publish at ``rate`` Hz (0 = as fast as possible) until wall time ``until``.

    Returns (sent, refused): a reliable writer whose reader lags refuses a
    write after blocking for a while, which flat out happens; such a frame is
    not sent, is not numbered, and is counted apart. ``call_ms`` collects how long
    each ``publish`` call took (the first hop of the stamp -> receipt latency).
    """
    period = 1.0 / rate if rate > 0 else 0.0
    started = time.time()
    count = refused = 0
    while True:
        now = time.time()
        due = started + (count + refused) * period
        if now >= until or due >= until:
            return count, refused
        if due > now:
            time.sleep(due - now)
        elif now - due > period > 0:
            # Fell behind (scheduler, GC): go on from now rather than send a burst.
            started = now - (count + refused) * period
        msg = messages[count % len(messages)]
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(time.time_ns(), 10**9)
        msg.header.frame_id = str(count) if numbered else WARMUP_FRAME_ID
        called = time.perf_counter()
        try:
            publisher.publish(msg)
        except RuntimeError:  # rclpy's RCLError ('cannot publish data')
            refused += 1
            continue
        if call_ms is not None:
            call_ms.append((time.perf_counter() - called) * 1e3)
        count += 1


def wait_for_subscriber(publisher, timeout: float) -> bool:
    """Wait until the node's subscription matched this publisher; False after ``timeout``."""
    deadline = time.monotonic() + timeout
    while publisher.get_subscription_count() == 0:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--namespace', required=True, help='publishes <namespace>/image')
    parser.add_argument('--rate', type=float, required=True, help='Hz; 0 = flat out')
    parser.add_argument('--size', default='640x480')
    parser.add_argument('--bag')
    parser.add_argument('--bag-topic')
    parser.add_argument('--qos', default='reliable', choices=('reliable', 'best_effort'))
    parser.add_argument('--qos-depth', type=int, default=5)
    parser.add_argument('--match-timeout', type=float, default=60.0)
    parser.add_argument('--duration', type=float, required=True)
    args = parser.parse_args(argv)
    messages = [fill_image(Image(), frame, 'rgb8') for frame in load_frames(args)]
    with ros_context():
        node = rclpy.create_node('bench_camera', namespace=args.namespace)
        publisher = node.create_publisher(Image, 'image', stream_qos(args.qos, args.qos_depth))
        matched = wait_for_subscriber(publisher, args.match_timeout)
        if not matched:
            print(f'no subscriber on {publisher.topic_name} after {args.match_timeout} s: '
                  'publishing anyway, so the report shows what arrives', file=sys.stderr)
        print('ready', flush=True)
        warm_until = float(sys.stdin.readline())
        warmup, _ = publish_until(publisher, messages, args.rate, warm_until, numbered=False)
        print('warm', flush=True)
        start_at = float(sys.stdin.readline())
        time.sleep(max(0.0, start_at - time.time()))
        started = time.time()
        call_ms = []
        sent, refused = publish_until(publisher, messages, args.rate,
                                      start_at + args.duration, numbered=True, call_ms=call_ms)
        elapsed = time.time() - started
        # Exiting drops what DDS has not delivered yet: the last frames, reliable or not.
        publisher.wait_for_all_acked(Duration(seconds=ACK_TIMEOUT_S))
        print(json.dumps({'topic': publisher.topic_name, 'warmup_sent': warmup, 'sent': sent,
                          'refused': refused, 'matched': matched,
                          'started': started, 'elapsed_s': elapsed,
                          'publish_call_ms': percentiles(call_ms),
                          'publish_rate_hz': sent / elapsed if elapsed > 0 else 0.0}),
              flush=True)
        node.destroy_node()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
