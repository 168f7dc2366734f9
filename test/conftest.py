"""Shared fixtures: a private DDS domain, a spinning test node, node processes."""
import os
import random
import struct
import subprocess
import tempfile
import threading
import time
from types import SimpleNamespace

import pytest

from depth_trt_ros.inference import tensorrt_runtime
from depth_trt_ros.tools import cli
from depth_trt_ros.tools.node_process import node_command

# Every test run gets its own DDS domain so parallel runs on one machine never meet.
os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random(os.getpid()).randint(120, 200)))


def _tiny(model: str):
    """Load ``model`` on the CPU at the smallest input size: the real code path, quickly."""
    from depth_trt_ros.inference.service import DepthService
    from depth_trt_ros.tools.model_options import EstimatorConfig

    service = DepthService.load(EstimatorConfig(model_path=model, device='cpu',
                                                input_size=140), lambda _: None)
    yield service
    service.release()


@pytest.fixture(scope='session')
def tiny_service():
    """Relative depth of random weights (random:tiny)."""
    yield from _tiny('random:tiny')


@pytest.fixture(scope='session')
def tiny_metric_service():
    """Metric depth of random weights (random:tiny-metric): about 10 m everywhere."""
    yield from _tiny('random:tiny-metric')


@pytest.fixture(scope='module')
def ros():
    """Initialise rclpy for a test module, with a node spun on a background thread."""
    rclpy = pytest.importorskip('rclpy')
    from rclpy.executors import MultiThreadedExecutor

    from rclpy._rclpy_pybind11 import InvalidHandle

    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node(f'tester_{os.getpid()}', context=context)
    executor = MultiThreadedExecutor(context=context)
    executor.add_node(node)
    stop = threading.Event()

    def spin():
        while not stop.is_set() and context.ok():
            try:
                executor.spin_once(timeout_sec=0.1)
            except InvalidHandle:
                # A test closed a subscription while the executor was waiting on it (an
                # rclpy race, seen in CI): the next wait no longer holds it, go on.
                continue
    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    yield node
    stop.set()
    thread.join(timeout=5)
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown(context=context)


class NodeProcess:
    """
    A ``depth_node`` (or another executable) running in its own process.

    Its output goes to a file, not a pipe, so a chatty node can never block.
    """

    def __init__(self, module: str, params: dict, namespace: str, env=None):
        args = node_command(params, namespace, module)
        self.log = tempfile.NamedTemporaryFile('w+', prefix='node-', suffix='.log')
        self.process = subprocess.Popen(args, env=dict(os.environ, **(env or {})),
                                        stdout=self.log, stderr=subprocess.STDOUT, text=True)
        self.namespace = namespace

    def log_so_far(self) -> str:
        """Everything the process has printed up to now."""
        with open(self.log.name) as log:
            return log.read()

    def output(self, timeout: float = 60) -> str:
        """Wait for the process to end and return everything it printed."""
        self.process.wait(timeout=timeout)
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def wait_for(predicate, timeout: float, interval: float = 0.05):
    """Poll ``predicate`` until it is truthy; return its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


@pytest.fixture(scope='module')
def start_node():
    """Start node processes for a module; all are stopped at its end."""
    processes = []

    def start(params, namespace, module='depth_trt_ros.ros.depth_node', env=None):
        process = NodeProcess(module, params, namespace, env)
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.stop()


class Collector:
    """
    Messages of one topic, gathered by the test node.

    With ``lazy``, messages are kept serialized and built on first use but for their
    stamp: rclpy builds a 1000-object Detection3DArray in Python holding the
    interpreter lock for long enough to stall the test's own publishing thread
    (a chaos test's 1 ms pauses took 80 s in all).
    """

    def __init__(self, node, msg_type, topic, qos, lazy: bool = False):
        self.messages = []
        store = (lambda data: self.messages.append(LazyMessage(data, msg_type))) if lazy \
            else self.messages.append
        self._subscription = node.create_subscription(msg_type, topic, store, qos, raw=lazy)
        self._node = node

    def wait(self, count: int, timeout: float = 30.0):
        wait_for(lambda: len(self.messages) >= count, timeout)
        return self.messages

    def close(self):
        self._node.destroy_subscription(self._subscription)


class LazyMessage:
    """A received message as its CDR bytes: ``header.stamp`` read at once, the rest on use."""

    def __init__(self, data: bytes, msg_type):
        sec, nanosec = struct.unpack_from('<iI', data, 4)
        self.header = SimpleNamespace(stamp=SimpleNamespace(sec=sec, nanosec=nanosec))
        self._data, self._type, self._message = data, msg_type, None

    def __getattr__(self, name):
        if name.startswith('_'):
            raise AttributeError(name)
        if self._message is None:
            from rclpy.serialization import deserialize_message  # the node's own output
            self._message = deserialize_message(self._data, self._type)
        return getattr(self._message, name)


def diagnostic_values(messages, name_part: str):
    """Key/values of the newest status whose name contains ``name_part``."""
    for array in reversed(messages):
        for status in array.status:
            if name_part in status.name:
                return status, {kv.key: kv.value for kv in status.values}
    return None, {}


# Exporting costs most of the model tests' time: one ONNX and one engine per run, made
# through the export tool, which tests it too.
CAMERAS = ('640x480', '1280x720')


def _camera_args():
    return [arg for camera in CAMERAS for arg in ('--camera', camera)]


@pytest.fixture(scope='session')
def cameras():
    """Return the camera resolutions the shared engine is built for."""
    return CAMERAS


@pytest.fixture(scope='session')
def exported_tiny_onnx(tmp_path_factory):
    """Export ``random:tiny`` to fp32 ONNX with ``depth-trt-ros export --onnx-only``."""
    directory = tmp_path_factory.mktemp('onnx')
    status = cli.main(['export', '--model', 'random:tiny', '--output-dir', str(directory),
                       '--onnx-only', *_camera_args()])
    assert status == 0
    return directory / 'random-tiny.onnx'


@pytest.fixture(scope='session')
def tiny_engine(exported_tiny_onnx, tmp_path_factory):
    """Build a real fp32 engine from the ONNX with whichever TensorRT is importable."""
    if tensorrt_runtime.trt is None:
        pytest.skip('no TensorRT Python module (tensorrt or tensorrt_rtx) is importable: '
                    'pip install tensorrt-rtx-cu13 builds engines without a GPU')
    directory = tmp_path_factory.mktemp('engine')
    status = cli.main(['export', '--model', str(exported_tiny_onnx),
                       '--output-dir', str(directory),
                       '--precision', 'fp32', '--max-batch', '2', *_camera_args()])
    assert status == 0
    return directory / 'random-tiny_fp32.engine'
