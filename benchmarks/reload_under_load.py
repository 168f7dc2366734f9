#!/usr/bin/env python3
r"""
A model change on a serving depth_node: frames must keep coming while the new model loads.

    publisher (this process, --rate Hz) -> depth_node process -> this process

After a warm-up the node's ``model_path`` is set to a copy of its model saved
elsewhere (same kind, so it is accepted), and once more to a file that fails
to load. Reports the longest gap between depth frames before, during and after
each change, the node's counters (``frames_failed``, ``contained_errors``) and
whether each change took effect or was set back, as JSON. On CUDA this checks
that a capture of the new model's graphs does not break the serving thread.

    python benchmarks/reload_under_load.py --device cuda --model random:small --json r.json
"""
import argparse
import json
from pathlib import Path
import tempfile
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
from rcl_interfaces.srv import SetParameters
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from depth_trt_ros.inference.model import load_depth_model
from depth_trt_ros.ros.conversions import fill_image
from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.ros.runtime import ros_context
from depth_trt_ros.ros.topics import METRIC_DEPTH, RELATIVE_DEPTH
from depth_trt_ros.tools.model_options import add_model_arguments
from depth_trt_ros.tools.node_process import running_node

NAMESPACE = '/reload'
NODE = f'{NAMESPACE}/depth_node'


class Watcher(Node):
    """Publishes frames at a fixed rate; records depth arrivals and the node's diagnostics."""

    def __init__(self, rate_hz: float):
        super().__init__('reload_watcher')
        qos = stream_qos('reliable', 5)
        self.publisher = self.create_publisher(Image, f'{NAMESPACE}/image', qos)
        self.arrivals = []
        self.status = ('', {})
        for topic in (METRIC_DEPTH, RELATIVE_DEPTH):
            self.create_subscription(Image, f'{NAMESPACE}/{topic}',
                                     lambda _: self.arrivals.append(time.monotonic()), qos)
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 10)
        self._frame = fill_image(Image(), np.random.default_rng(0).integers(
            0, 255, (480, 640, 3), np.uint8), 'rgb8')
        self.create_timer(1.0 / rate_hz, self._publish)

    def _publish(self):
        self._frame.header.stamp = self.get_clock().now().to_msg()
        self.publisher.publish(self._frame)

    def _on_diagnostics(self, msg):
        for status in msg.status:
            if status.hardware_id == NODE:
                self.status = (status.message, {kv.key: kv.value for kv in status.values})

    def parameter(self, name: str, value) -> bool:
        client = self.create_client(SetParameters, f'{NODE}/set_parameters')
        client.wait_for_service(timeout_sec=30)
        future = client.call_async(SetParameters.Request(
            parameters=[Parameter(name, value=value).to_parameter_msg()]))
        while not future.done():
            time.sleep(0.01)
        self.destroy_client(client)
        return future.result().results[0].successful


def longest_gap(arrivals, start: float, end: float) -> float:
    times = [t for t in arrivals if start <= t <= end]
    return round(max(np.diff(times), default=float('nan')) * 1e3, 1)


def change(watcher, value, settle_s: float):
    """Set model_path to ``value``; return what happened while it loaded and after."""
    before = time.monotonic()
    accepted = watcher.parameter('model_path', value)
    deadline = before + 120
    while time.monotonic() < deadline and ('model_reload' in watcher.status[1]
                                           or time.monotonic() - before < 2):
        time.sleep(0.1)
    loaded = time.monotonic()
    time.sleep(settle_s)
    message, values = watcher.status
    return {'value': value, 'accepted': accepted, 'load_s': round(loaded - before, 2),
            'model_now': values.get('model'), 'status': message,
            'longest_gap_ms_while_loading': longest_gap(watcher.arrivals, before, loaded),
            'frames_while_loading': sum(before <= t <= loaded for t in watcher.arrivals),
            'longest_gap_ms_after': longest_gap(watcher.arrivals, loaded, loaded + settle_s)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    add_model_arguments(parser)
    parser.add_argument('--rate', type=float, default=60.0)
    parser.add_argument('--json', type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    load_depth_model(args.model).save_pretrained(folder / 'copy')
    (folder / 'broken').mkdir()
    (folder / 'broken' / 'config.json').write_text('{not json')
    parameters = {'model_path': args.model, 'device': args.device, 'precision': args.precision,
                  'input_size': args.input_size, 'qos': 'reliable', 'publish_colorized': False}
    with running_node(parameters, NAMESPACE) as process, ros_context():
        watcher = Watcher(args.rate)
        executor = MultiThreadedExecutor()
        executor.add_node(watcher)
        threading.Thread(target=executor.spin, daemon=True).start()
        while watcher.status[1].get('state') != 'active' or len(watcher.arrivals) < 100:
            if process.poll() is not None:
                raise SystemExit(f'depth_node exited with {process.returncode}')
            time.sleep(0.2)
        steady = time.monotonic()
        time.sleep(3)
        report = {'rate_hz': args.rate, 'model': args.model, 'device': args.device,
                  'longest_gap_ms_steady': longest_gap(watcher.arrivals, steady, steady + 3),
                  'changes': [change(watcher, str(folder / 'copy'), 3),
                              change(watcher, str(folder / 'broken'), 3)]}
        counts = watcher.status[1]
        report['node'] = {key: counts.get(key) for key in (
            'frames_received', 'frames_published', 'frames_failed', 'frames_dropped',
            'contained_errors', 'device_memory_mb')}
        report['node_alive'] = process.poll() is None
        executor.shutdown()
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + '\n')


if __name__ == '__main__':
    main()
