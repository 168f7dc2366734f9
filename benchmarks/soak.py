#!/usr/bin/env python3
r"""
Soak test of depth_node: hours-long behaviour in minutes (not run in CI).

    publisher process --image--> depth_node process --depth--> this process

Publishes at a fixed rate for N minutes and reports the node's RSS growth,
latency drift (first vs last minute, p50/p95 of stamp -> depth received),
frames lost between publisher, node and subscriber, and the node's own
counters, as JSON. Example (the numbers in docs/replay.md)::

    ROS_DOMAIN_ID=64 python benchmarks/soak.py --minutes 2 --rate 30 \\
        --model random:tiny --device cpu --input-size 140 --json soak.json

``--sizes N`` cycles the frames through N sizes of different aspect ratios, so
that every size-keyed cache (CUDA graphs, position embeddings, buffers) is
filled past its bound: memory must still stay flat.
"""
import argparse
from datetime import datetime, timezone
import json
import multiprocessing
import os
import platform
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image

from depth_trt_ros.ros.conversions import fill_image
from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.ros.runtime import ros_context
from depth_trt_ros.ros.topics import METRIC_DEPTH, RELATIVE_DEPTH
from depth_trt_ros.tools.model_options import add_model_arguments
from depth_trt_ros.tools.node_process import running_node

NAMESPACE = '/soak'
QOS_DEPTH = 5


def frame_sizes(size, count: int):
    """``count`` (height, width) sizes: ``size`` first, then shrinking by different ratios."""
    height, width = size
    return [(height - (7 * k) % (height // 2), width - (13 * k) % (width // 2))
            for k in range(count)]


def publish_frames(rate_hz: float, seconds: float, size, counter, matched, sizes: int = 1):
    """
    Publish one frame every 1/rate s on an absolute schedule, stamped now.

    The schedule starts once the node's subscription has matched (``matched`` is
    set then), so discovery time is not counted as frames lost. With ``sizes``
    above 1 each frame takes the next of that many sizes.
    """
    with ros_context():
        node = Node('soak_publisher')
        publisher = node.create_publisher(Image, f'{NAMESPACE}/image',
                                          stream_qos('reliable', QOS_DEPTH))
        pattern = np.random.default_rng(0).integers(0, 255, (*size, 3), np.uint8)
        messages = [fill_image(Image(), np.ascontiguousarray(pattern[:h, :w]), 'rgb8')
                    for h, w in frame_sizes(size, sizes)]
        for msg in messages:
            msg.header.frame_id = 'soak_camera'
        while publisher.get_subscription_count() == 0:
            time.sleep(0.05)
        matched.set()
        start = time.monotonic()
        sent = 0
        while sent < rate_hz * seconds:
            delay = start + sent / rate_hz - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            msg = messages[sent % len(messages)]
            msg.header.stamp = node.get_clock().now().to_msg()
            publisher.publish(msg)
            sent += 1
        counter.value = sent
        node.destroy_node()


class DepthListener(Node):
    """Records when each depth frame arrived and how old its stamp was; keeps diagnostics."""

    def __init__(self):
        super().__init__('soak_listener')
        self.arrivals = []
        self.diagnostics = {}
        for topic in (METRIC_DEPTH, RELATIVE_DEPTH):  # whichever the model's kind gives
            self.create_subscription(Image, f'{NAMESPACE}/{topic}', self._on_depth,
                                     stream_qos('reliable', QOS_DEPTH))
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 10)

    def _on_depth(self, msg):
        now = self.get_clock().now().nanoseconds
        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        self.arrivals.append((time.monotonic(), (now - stamp) / 1e6))

    def _on_diagnostics(self, msg):
        for status in msg.status:
            if status.hardware_id == f'{NAMESPACE}/depth_node':
                self.diagnostics = {kv.key: kv.value for kv in status.values}


def cpu_name() -> str:
    with open('/proc/cpuinfo') as cpuinfo:
        for line in cpuinfo:
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    return platform.machine()


def rss_mb(pid: int) -> float:
    with open(f'/proc/{pid}/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f'no VmRSS for process {pid}')


def percentiles(values):
    if not values:
        return {'p50': None, 'p95': None, 'frames': 0}
    return {'p50': round(float(np.percentile(values, 50)), 2),
            'p95': round(float(np.percentile(values, 95)), 2), 'frames': len(values)}


def summarise(args, listener, rss, started, published):
    """Build the JSON report: memory, latency drift, losses, node counters, machine."""
    window = 60.0
    end = started + args.minutes * 60
    latencies = [(t, ms) for t, ms in listener.arrivals if t >= started]
    first = [ms for t, ms in latencies if t < started + window]
    last = [ms for t, ms in latencies if t >= end - window]
    times = np.array([t for t, _ in rss]) - started
    values = np.array([mb for _, mb in rss])
    slope = float(np.polyfit(times, values, 1)[0] * 60) if len(rss) > 1 else 0.0
    counters = {k: int(v) for k, v in listener.diagnostics.items() if k.startswith('frames_')}
    first_p, last_p = percentiles(first), percentiles(last)
    return {
        'date': datetime.now(timezone.utc).isoformat(timespec='seconds'),
        'machine': {'cpu': cpu_name(),
                    'cores': os.cpu_count(), 'python': platform.python_version(),
                    'rmw': os.environ.get('RMW_IMPLEMENTATION', 'default')},
        'settings': {'minutes': args.minutes, 'rate_hz': args.rate, 'model': args.model,
                     'backend': args.backend, 'device': args.device,
                     'precision': args.precision, 'input_size': args.input_size,
                     'image': f'{args.width}x{args.height} rgb8', 'sizes': args.sizes},
        'rss_mb': {'start': round(values[0], 1), 'end': round(values[-1], 1),
                   'max': round(values.max(), 1), 'growth': round(values[-1] - values[0], 1),
                   'slope_per_minute': round(slope, 2),
                   # Coarse series: tells warm-up growth from a steady leak.
                   'every_10_s': [round(mb, 1) for mb in values[::10]]},
        'latency_ms': {'first_minute': first_p, 'last_minute': last_p,
                       'drift_p50': _difference(last_p['p50'], first_p['p50']),
                       'drift_p95': _difference(last_p['p95'], first_p['p95'])},
        'frames': {'published': published, 'depth_received': len(latencies),
                   'output_hz': round(len(latencies) / (args.minutes * 60), 2),
                   'node': counters,
                   'lost_before_node': published - counters.get('frames_received', 0),
                   'lost_after_node': counters.get('frames_published', 0) - len(latencies)},
    }


def _difference(later, earlier):
    return None if later is None or earlier is None else round(later - earlier, 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--minutes', type=float, default=10.0)
    parser.add_argument('--rate', type=float, default=120.0, help='publish rate, Hz')
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--sizes', type=int, default=1,
                        help='cycle the frames through this many sizes (1: fixed size)')
    add_model_arguments(parser)
    parser.add_argument('--json', help='write the report here as well as to stdout')
    args = parser.parse_args()
    parameters = {'model_path': args.model, 'backend': args.backend, 'device': args.device,
                  'precision': args.precision, 'input_size': args.input_size,
                  'qos': 'reliable', 'publish_colorized': False}
    with running_node(parameters, NAMESPACE) as node_process, ros_context():
        listener = DepthListener()
        executor = SingleThreadedExecutor()
        executor.add_node(listener)
        threading.Thread(target=executor.spin, daemon=True).start()
        while listener.diagnostics.get('state') != 'active':
            if node_process.poll() is not None:
                raise SystemExit(f'depth_node exited with {node_process.returncode}')
            time.sleep(0.5)
        # spawn: a forked child would inherit this process's initialised rclpy context.
        spawn = multiprocessing.get_context('spawn')
        counter, matched = spawn.Value('l', 0), spawn.Event()
        publisher = spawn.Process(
            target=publish_frames, args=(args.rate, args.minutes * 60,
                                         (args.height, args.width), counter, matched,
                                         args.sizes))
        publisher.start()
        matched.wait()
        started = time.monotonic()
        rss, device = [], []
        while publisher.is_alive():
            rss.append((time.monotonic(), rss_mb(node_process.pid)))
            # What torch holds on the GPU, as the node reports it (0 on the CPU).
            device.append(float(listener.diagnostics.get('device_memory_mb', 'nan')))
            time.sleep(1.0)
        time.sleep(3.0)  # let the last frames and one more diagnostics message arrive
        report = summarise(args, listener, rss, started, counter.value)
        known = [mb for mb in device if mb == mb]
        if known:
            report['device_memory_mb'] = {'start': known[0], 'end': known[-1],
                                          'max': max(known), 'every_10_s': known[::10]}
        executor.shutdown()
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        with open(args.json, 'w') as out:
            out.write(text + '\n')


if __name__ == '__main__':
    main()
