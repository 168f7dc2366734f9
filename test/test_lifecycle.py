"""Managed lifecycle over DDS, driven by the lifecycle_msgs services of another node."""
import re
import time

from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
import numpy as np
import pytest
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
import torch

from conftest import Collector, diagnostic_values, wait_for
from depth_trt_ros.ros.conversions import fill_image
from depth_trt_ros.ros.qos import stream_qos

pytestmark = pytest.mark.ros
NAMESPACE = '/lifecycle_test'
NODE = f'{NAMESPACE}/depth_node'
RELIABLE = stream_qos('reliable', 10)
# random:small holds ~100 MB of fp32 weights: enough to see memory come back on cleanup.
PARAMS = {'model_path': 'random:small', 'device': 'auto', 'input_size': 140,
          'autostart': False}


def call(node, srv_type, name, request, timeout=60.0):
    client = node.create_client(srv_type, name)
    try:
        assert client.wait_for_service(timeout_sec=60.0), f'{name} not available'
        future = client.call_async(request)
        assert wait_for(future.done, timeout), f'{name} did not answer'
        return future.result()
    finally:
        node.destroy_client(client)


def state(node, name: str = NODE) -> str:
    return call(node, GetState, f'{name}/get_state', GetState.Request()).current_state.label


def transition(node, transition_id: int, name: str = NODE) -> bool:
    request = ChangeState.Request(transition=Transition(id=transition_id))
    return call(node, ChangeState, f'{name}/change_state', request).success


# From each state, the transition one step nearer to unconfigured or to active.
TOWARDS = {'unconfigured': {'active': Transition.TRANSITION_CONFIGURE},
           'inactive': {'active': Transition.TRANSITION_ACTIVATE,
                        'unconfigured': Transition.TRANSITION_CLEANUP},
           'active': {'unconfigured': Transition.TRANSITION_DEACTIVATE}}


def bring_to(node, target: str, name: str = NODE):
    """Walk the node ``name`` to ``target`` from whatever state an earlier test left."""
    current = state(node, name)
    while current != target:
        assert transition(node, TOWARDS[current][target], name), f'{current} -> {target}'
        current = state(node, name)


def rss_mb(diagnostics) -> float:
    _, values = diagnostic_values(diagnostics.messages, NODE)
    return float(values.get('process_rss_mb', 'nan'))


@pytest.fixture(scope='module')
def lifecycle(ros, start_node):
    process = start_node(PARAMS, NAMESPACE)
    publisher = ros.create_publisher(Image, f'{NAMESPACE}/image', RELIABLE)
    depth = Collector(ros, Image, f'{NAMESPACE}/relative_inverse_depth', RELIABLE)
    diagnostics = Collector(ros, DiagnosticArray, '/diagnostics', 10)
    return ros, publisher, depth, diagnostics, process


def send_frames(publisher, first_stamp: int, count: int = 3):
    frame = np.random.default_rng(first_stamp).integers(0, 255, (96, 128, 3), np.uint8)
    for stamp in range(first_stamp, first_stamp + count):
        msg = fill_image(Image(), frame, 'rgb8')
        msg.header.stamp.sec = stamp
        publisher.publish(msg)
        time.sleep(0.1)  # pacing, not a wait: each frame is taken on its own


def test_transitions_and_frames_flow_only_when_active(lifecycle):
    node, publisher, depth, diagnostics, process = lifecycle
    bring_to(node, 'unconfigured')

    assert transition(node, Transition.TRANSITION_CONFIGURE)
    assert state(node) == 'inactive'
    configured_rss = wait_for(lambda: rss_mb(diagnostics) > 0 and rss_mb(diagnostics), 10)
    send_frames(publisher, 100)
    assert not wait_for(lambda: depth.messages, 2.0), 'inactive node published depth'

    assert transition(node, Transition.TRANSITION_ACTIVATE)
    assert state(node) == 'active'
    assert wait_for(lambda: publisher.get_subscription_count() > 0, 30)
    stamps = iter(range(200, 300, 3))
    # Frames until the node's reader has matched ours and one comes back.
    assert wait_for(lambda: send_frames(publisher, next(stamps)) or [
        m for m in depth.messages if m.header.stamp.sec >= 200], 30)

    assert transition(node, Transition.TRANSITION_DEACTIVATE)
    assert state(node) == 'inactive'
    count = len(depth.messages)
    send_frames(publisher, 300)
    assert not wait_for(lambda: len(depth.messages) > count, 2.0)

    assert transition(node, Transition.TRANSITION_CLEANUP)
    assert state(node) == 'unconfigured'
    freed = wait_for(lambda: re.search(r'model released: ([\d.]+) MiB of device memory',
                                       process.log_so_far()), 10)
    assert freed, process.log_so_far()
    if torch.cuda.is_available():  # device auto: the weights live on the GPU
        assert float(freed.group(1)) > 40, 'the weights stayed on the GPU'
    else:
        released = wait_for(lambda: rss_mb(diagnostics) < configured_rss - 50, 10)
        assert released, f'RSS {rss_mb(diagnostics)} MB after cleanup vs {configured_rss} MB'

    assert transition(node, Transition.TRANSITION_CONFIGURE)
    assert transition(node, Transition.TRANSITION_ACTIVATE)
    send_frames(publisher, 400)
    assert wait_for(lambda: [m for m in depth.messages if m.header.stamp.sec >= 400], 30)


def set_params(node, **values):
    request = SetParameters.Request(parameters=[
        Parameter(k, value=v).to_parameter_msg() for k, v in values.items()])
    return call(node, SetParameters, f'{NODE}/set_parameters', request).results[0]


def get_param(node, name: str):
    request = GetParameters.Request(names=[name])
    value = call(node, GetParameters, f'{NODE}/get_parameters', request).values[0]
    return Parameter.from_parameter_msg(ParameterMsg(name=name, value=value)).value


@pytest.fixture(scope='module')
def broken_model(tmp_path_factory):
    """Save a model whose weights file is cut short: safetensors raises its own error."""
    from depth_trt_ros.inference.model import load_depth_model
    folder = tmp_path_factory.mktemp('broken')
    load_depth_model('random:tiny').save_pretrained(folder)
    weights = folder / 'model.safetensors'
    weights.write_bytes(weights.read_bytes()[:300])
    return str(folder)


def status_message(diagnostics) -> str:
    status, _ = diagnostic_values(diagnostics.messages, NODE)
    return status.message if status else ''


def test_parameter_change_reloads_or_is_rejected_whole(lifecycle, broken_model):
    node = lifecycle[0]
    bring_to(node, 'active')
    running = get_param(node, 'model_path')
    missing = set_params(node, model_path='/nonexistent/model.onnx')
    assert not missing.successful and 'no file' in missing.reason
    assert set_params(node, input_size=182).successful
    assert not set_params(node, publish_points=True).successful
    assert wait_for(lambda: diagnostic_values(lifecycle[3].messages, NODE)[1].get(
        'input_size') == '182', 60), 'the new input size never took effect'
    lifecycle[2].messages.clear()
    send_frames(lifecycle[1], 500)
    assert wait_for(lambda: lifecycle[2].messages, 30), 'no depth after a reload'
    # Loaded on another thread: accepted now, set back once the loader fails, whatever it
    # raised (here safetensors' own error type), and the running model serves on.
    for bad in (broken_model, str(broken_model) + '-missing', 'random:tiny-metric'):
        assert set_params(node, model_path=bad).successful
        assert wait_for(lambda: get_param(node, 'model_path') == running, 60), \
            f'model_path={bad} was never set back'
        assert wait_for(lambda: bad in status_message(lifecycle[3]), 10), \
            'diagnostics do not say why the change failed'
        assert 'running model kept serving' in status_message(lifecycle[3])
        lifecycle[2].messages.clear()
        send_frames(lifecycle[1], 500)
        assert wait_for(lambda: lifecycle[2].messages, 30), f'no depth after {bad} failed'
    assert lifecycle[4].process.poll() is None


def test_shutdown_from_active(ros, start_node):
    """On a node of its own, which no other test may use after it ended."""
    name = '/lifecycle_shutdown/depth_node'
    start_node(dict(PARAMS, model_path='random:tiny'), '/lifecycle_shutdown')
    bring_to(ros, 'active', name)
    assert transition(ros, Transition.TRANSITION_ACTIVE_SHUTDOWN, name)
    assert state(ros, name) == 'finalized'
