"""depth_node over DDS keeps serving through malformed frames and refuses broken models.

The node runs in its own process, as in a graph; this process publishes
hypothesis-generated malformed Images between good frames and reads
``/diagnostics`` and ``depth`` back over Fast DDS.
"""
from collections import Counter
import subprocess
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from hypothesis import given, HealthCheck, settings
import numpy as np
from onnx import helper, TensorProto
import pytest
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image

from depth_trt_ros.ros.conversions import BadImageError, fill_image, image_to_rgb
from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.tools.node_process import node_command, running_node
from image_strategies import image_messages

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NAMESPACE = '/fuzz'
MALFORMED = 300
GOOD_EVERY = 30
# Bad frames fail in microseconds; this gap lets the node's one-slot mailbox take
# each before the next arrives, so every one is counted as bad rather than dropped.
GAP_S = 0.01


def _category(msg):
    try:
        image_to_rgb(msg)
    except BadImageError as error:
        return error.category
    return None


class Probe(Node):
    """Publishes frames to the node and collects its depth stamps and diagnostics."""

    def __init__(self):
        super().__init__('robustness_probe')
        qos = stream_qos('reliable', 10)
        self.images = self.create_publisher(Image, f'{NAMESPACE}/image', qos)
        self.depth_stamps = set()
        self.diagnostics = {}
        self.create_subscription(Image, f'{NAMESPACE}/depth', self._on_depth, qos)
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 10)
        self._good = fill_image(Image(), np.zeros((48, 64, 3), np.uint8), 'rgb8')

    def _on_depth(self, msg):
        self.depth_stamps.add(msg.header.stamp.sec)

    def _on_diagnostics(self, msg):
        for status in msg.status:
            if status.hardware_id == f'{NAMESPACE}/depth_node':
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    def serve_good_frame(self, sec: int, timeout_s: float) -> bool:
        """Publish a good frame stamped ``sec`` until its depth comes back."""
        self._good.header.stamp.sec = sec
        deadline = time.monotonic() + timeout_s
        while sec not in self.depth_stamps and time.monotonic() < deadline:
            self.images.publish(self._good)
            time.sleep(0.2)
        return sec in self.depth_stamps


def _wait_for(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


@pytest.fixture
def probe(ros_context):
    node = Probe()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    yield node
    executor.shutdown()
    spinner.join()
    node.destroy_node()


def test_node_counts_malformed_frames_by_reason_and_keeps_serving(probe, ros_domain,
                                                                  tmp_path):
    parameters = {'model_path': 'random:tiny', 'device': 'cpu', 'input_size': 140,
                  'qos': 'reliable', 'publish_colorized': False}
    with running_node(parameters, NAMESPACE, ros_domain, tmp_path / 'node.log') as process:
        assert probe.serve_good_frame(1, timeout_s=90), (tmp_path / 'node.log').read_text()
        sent = Counter()

        @settings(max_examples=MALFORMED, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(image_messages().filter(_category))
        def publish_malformed(msg):
            msg.header.stamp.sec = 0
            probe.images.publish(msg)
            sent[_category(msg)] += 1
            time.sleep(GAP_S)
            if sum(sent.values()) % GOOD_EVERY == 0:
                assert probe.serve_good_frame(1000 + sum(sent.values()), timeout_s=10)

        publish_malformed()
        assert probe.serve_good_frame(99_999, timeout_s=10), 'served after the last bad one'
        expected = {'frames_bad': str(sum(sent.values())),
                    **{f'bad_{reason}': str(n) for reason, n in sent.items()}}
        _wait_for(lambda: all(probe.diagnostics.get(k) == v for k, v in expected.items()), 10)
        assert process.poll() is None, 'the node is still running'
    assert {k: probe.diagnostics.get(k) for k in expected} == expected
    assert probe.diagnostics['frames_dropped'] == '0'
    assert len(sent) >= 4, f'several kinds of fault were exercised: {dict(sent)}'


def _tiny_onnx_bytes() -> bytes:
    """A valid ONNX file (not a Depth-Anything one) to cut short."""
    graph = helper.make_graph(
        [helper.make_node('Identity', ['pixel_values'], ['predicted_depth'])], 'identity',
        [helper.make_tensor_value_info('pixel_values', TensorProto.FLOAT, [1, 3, 14, 14])],
        [helper.make_tensor_value_info('predicted_depth', TensorProto.FLOAT, [1, 14, 14])])
    return helper.make_model(graph).SerializeToString()


BROKEN_MODELS = {
    'garbage.onnx': (lambda p: p.write_bytes(np.random.default_rng(0).bytes(4096)),
                     "Re-export it with 'depth-trt-ros export'"),
    'truncated.onnx': (lambda p: p.write_bytes(_tiny_onnx_bytes()[:60]),
                       "Re-export it with 'depth-trt-ros export'"),
    'no_config_dir': (lambda p: p.mkdir(),
                      'Give a directory written by save_pretrained'),
    'garbage.engine': (lambda p: p.write_bytes(b'not an engine'),
                       'export an .onnx model and use backend onnxruntime'),
}


def test_broken_model_files_stop_the_node_with_the_fix(ros_domain, tmp_path):
    processes = {}
    for name, (make, _) in BROKEN_MODELS.items():
        make(tmp_path / name)
        command = node_command({'model_path': tmp_path / name, 'device': 'cpu'},
                               f'/broken{len(processes)}')
        processes[name] = subprocess.Popen(command, stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True)
    for name, process in processes.items():
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 1, output
        assert 'refusing to start' in output and BROKEN_MODELS[name][1] in output, output
