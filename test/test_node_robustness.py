"""
depth_node over DDS keeps serving through malformed frames and refuses broken models.

The node runs in its own process, as in a graph; this process publishes
hypothesis-generated malformed Images between good frames and reads
``/diagnostics`` and ``depth`` back over Fast DDS.
"""
from collections import Counter
import time

from diagnostic_msgs.msg import DiagnosticArray
from hypothesis import given, HealthCheck, settings
import numpy as np
from onnx import helper, TensorProto
import pytest
from sensor_msgs.msg import Image

from conftest import Collector, diagnostic_values, wait_for
from depth_trt_ros.ros.conversions import BadImageError, fill_image, image_to_rgb
from depth_trt_ros.ros.qos import stream_qos
from image_strategies import image_messages

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NAMESPACE = '/fuzz'
RELIABLE = stream_qos('reliable', 10)
MALFORMED = 300
GOOD_EVERY = 30
# Bad frames fail in microseconds; this gap lets the node take most of them before
# the next arrives, so most are counted as bad. On a loaded machine some are
# overwritten in its newest-frame-wins mailbox (dropped) or in its keep-last DDS
# queue (lost in transport); the node counts those too.
GAP_S = 0.01


def _category(msg):
    try:
        image_to_rgb(msg)
    except BadImageError as error:
        return error.category
    return None


class GoodFrames:
    """Publishes a good frame with a given stamp and waits for its depth."""

    def __init__(self, publisher, depth: Collector):
        self._publisher = publisher
        self._depth = depth
        self._msg = fill_image(Image(), np.zeros((48, 64, 3), np.uint8), 'rgb8')

    def served(self, sec: int, timeout_s: float) -> bool:
        # Published once: a second copy could wait in the node's mailbox and be
        # overwritten by the next bad frame, which would count it as dropped.
        self._msg.header.stamp.sec = sec
        self._publisher.publish(self._msg)
        return wait_for(lambda: any(m.header.stamp.sec == sec for m in self._depth.messages),
                        timeout_s)


def test_node_counts_malformed_frames_by_reason_and_keeps_serving(ros, start_node):
    node = start_node({'model_path': 'random:tiny', 'device': 'cpu', 'input_size': 140,
                       'qos': 'reliable', 'publish_colorized': False}, NAMESPACE)
    images = ros.create_publisher(Image, f'{NAMESPACE}/image', RELIABLE)
    diagnostics = Collector(ros, DiagnosticArray, '/diagnostics', 10)
    good = GoodFrames(images, Collector(ros, Image, f'{NAMESPACE}/relative_inverse_depth',
                                        RELIABLE))
    assert wait_for(lambda: images.get_subscription_count() > 0, 90), node.output(timeout=1)
    assert good.served(1, timeout_s=30)
    sent = Counter()

    @settings(max_examples=MALFORMED, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(image_messages().filter(_category))
    def publish_malformed(msg):
        images.publish(msg)
        sent[_category(msg)] += 1
        time.sleep(GAP_S)
        if sum(sent.values()) % GOOD_EVERY == 0:
            assert good.served(1000 + sum(sent.values()), timeout_s=10)

    publish_malformed()
    assert good.served(99_999, timeout_s=10), 'served after the last bad frame'
    total = sum(sent.values())

    def counted():
        values = diagnostic_values(diagnostics.messages, NAMESPACE)[1]
        bad = {key[len('bad_'):]: int(n) for key, n in values.items() if key.startswith('bad_')}
        return [int(values.get(f'frames_{key}', 0))
                for key in ('bad', 'dropped', 'lost_in_transport')], bad

    wait_for(lambda: sum(counted()[0]) == total, 10)
    (frames_bad, frames_dropped, frames_lost), by_reason = counted()
    assert frames_bad + frames_dropped + frames_lost == total, \
        'each malformed frame is counted as bad, dropped or lost in transport'
    assert sum(by_reason.values()) == frames_bad
    assert all(0 < by_reason.get(reason, 0) <= n for reason, n in sent.items() if n >= 10), \
        f'counted by reason {by_reason}, sent {dict(sent)}'
    assert len(sent) >= 4, f'several kinds of fault were exercised: {dict(sent)}'
    assert node.process.poll() is None, 'the node is still running'


def _tiny_onnx_bytes() -> bytes:
    """Serialise a valid ONNX file (not a Depth-Anything one) to cut short."""
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
    'no_config_dir': (lambda p: p.mkdir(), 'Give a directory written by save_pretrained'),
    # Without a GPU the TensorRT backend refuses the device before reading the file.
    'garbage.engine': (lambda p: p.write_bytes(b'not an engine'),
                       'use backend onnxruntime or torch on the CPU'),
}


def test_broken_model_files_stop_the_node_with_the_fix(start_node, tmp_path):
    nodes = {}
    for index, (name, (make, _)) in enumerate(BROKEN_MODELS.items()):
        make(tmp_path / name)
        nodes[name] = start_node({'model_path': tmp_path / name, 'device': 'cpu'},
                                 f'/broken{index}')
    for name, node in nodes.items():
        output = node.output(timeout=120)
        assert node.process.returncode == 1, output
        assert 'refusing to start' in output and BROKEN_MODELS[name][1] in output, output


def test_a_node_whose_thread_stops_says_error_and_exits_1(ros, tmp_path):
    """Never a silent ``active``: ERROR with the reason in /diagnostics, then exit status 1."""
    import os
    import subprocess

    from depth_trt_ros.tools.node_process import node_command

    diagnostics = Collector(ros, DiagnosticArray, '/diagnostics', 50)
    camera = ros.create_publisher(Image, '/fatal/image', RELIABLE)
    command = node_command({'model_path': 'random:tiny', 'device': 'cpu', 'input_size': 140},
                           '/fatal')
    command[1:3] = [os.path.join(os.path.dirname(__file__), 'fatal_node_child.py')]
    log = tmp_path / 'fatal.log'
    with open(log, 'w') as output:
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            # Heard before the fault, so that the ERROR cannot race discovery.
            assert wait_for(lambda: diagnostic_values(diagnostics.messages, '/fatal/depth_node')
                            [1].get('state') == 'active', 60), log.read_text()[-2000:]
            frame = fill_image(Image(), np.zeros((48, 64, 3), np.uint8), 'rgb8')
            assert wait_for(lambda: camera.publish(frame) or child.poll() is not None, 60)
            assert child.wait(timeout=30) == 1, log.read_text()[-2000:]
        finally:
            if child.poll() is None:
                child.kill()
    assert 'processing thread stopped: SystemError: injected' in log.read_text()
    assert wait_for(lambda: any(
        status.level == status.ERROR and 'processing thread stopped' in status.message
        for array in diagnostics.messages for status in array.status
        if status.hardware_id == '/fatal/depth_node'), 10), 'no ERROR in /diagnostics'
