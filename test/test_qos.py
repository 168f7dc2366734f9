"""QoS never fails silently: mismatches, silence and large frames are all reported."""
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.srv import SetParameters
import numpy as np
import pytest
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from conftest import Collector, diagnostic_values, wait_for
from depth_trt_ros.ros.conversions import fill_image
from depth_trt_ros.ros.qos import stream_qos
from test_lifecycle import call

pytestmark = pytest.mark.ros
TINY = {'model_path': 'random:tiny', 'device': 'cpu'}
VGA = np.random.default_rng(0).integers(0, 255, (480, 640, 3), np.uint8)


@pytest.fixture(scope='module')
def diagnostics(ros):
    return Collector(ros, DiagnosticArray, '/diagnostics', 50)


def status_of(diagnostics, namespace):
    return diagnostic_values(diagnostics.messages, f'{namespace}/depth_node')


def vga_frame(stamp: int) -> Image:
    msg = fill_image(Image(), VGA, 'rgb8')
    msg.header.stamp.sec = stamp
    return msg


def test_incompatible_qos_is_named_and_fixed_by_a_parameter(ros, start_node, diagnostics):
    namespace = '/qos_mismatch'
    start_node(dict(TINY, input_size=140, qos='reliable'), namespace)
    camera = ros.create_publisher(Image, f'{namespace}/image', stream_qos('best_effort', 5))
    depth = Collector(ros, Image, f'{namespace}/relative_inverse_depth', stream_qos('reliable', 5))

    def warned():
        status, values = status_of(diagnostics, namespace)
        return status is not None and 'incompatible QoS' in status.message and status
    status = wait_for(warned, 60)
    assert status, status_of(diagnostics, namespace)
    assert status.level == DiagnosticStatus.WARN
    assert 'requests reliable' in status.message and "'auto'" in status.message

    request = SetParameters.Request(
        parameters=[Parameter('qos', value='auto').to_parameter_msg()])
    assert call(ros, SetParameters, f'{namespace}/depth_node/set_parameters',
                request).results[0].successful
    assert wait_for(lambda: camera.get_subscription_count() > 0, 15)

    def served():
        camera.publish(fill_image(Image(), VGA[:120, :160].copy(), 'rgb8'))
        return wait_for(lambda: depth.messages, 0.5)
    assert wait_for(served, 30), 'no depth after switching qos to auto'
    assert wait_for(lambda: status_of(diagnostics, namespace)[1]['input_reliability']
                    == 'best_effort', 5)


def test_silence_says_there_is_no_publisher(start_node, diagnostics):
    namespace = '/qos_silence'
    start_node(dict(TINY, input_size=140, input_timeout=1.0), namespace)
    status = wait_for(lambda: 'no publishers' in
                      (status_of(diagnostics, namespace)[0] or DiagnosticStatus()).message
                      and status_of(diagnostics, namespace)[0], 60)
    assert status and status.level == DiagnosticStatus.WARN
    assert f'{namespace}/image' in status.message


@pytest.mark.parametrize('camera_reliability', ['reliable', 'best_effort'])
def test_every_vga_frame_at_30hz_is_served_or_counted(ros, start_node, diagnostics,
                                                      camera_reliability):
    """Default parameters; the node must account for every frame it could know of."""
    namespace = f'/qos_vga_{camera_reliability}'
    start_node(TINY, namespace)
    camera = ros.create_publisher(Image, f'{namespace}/image',
                                  stream_qos(camera_reliability, 5))
    assert wait_for(lambda: camera.get_subscription_count() > 0, 60)
    # Let the node's auto QoS see this publisher and settle on its reliability.
    assert wait_for(lambda: status_of(diagnostics, namespace)[1].get('input_reliability')
                    == camera_reliability, 15)
    time.sleep(1.5)
    sent = 0
    for _ in range(60):
        sent += 1
        camera.publish(vga_frame(sent))
        time.sleep(1 / 30)

    if camera_reliability == 'best_effort' and not wait_for(
            lambda: status_of(diagnostics, namespace)[1].get('input_sequence_last'), 10):
        # Best-effort VGA frames over default DDS transports may all be lost: then
        # nothing could be counted, and the node must say that messages do not arrive.
        status = wait_for(lambda: 'no message arrives' in (
            status_of(diagnostics, namespace)[0] or DiagnosticStatus()).message
            and status_of(diagnostics, namespace)[0], 15)
        assert status and status.level == DiagnosticStatus.WARN
        return

    counters = ('published', 'dropped', 'bad', 'skipped', 'failed', 'lost_in_transport')

    def settled():
        values = status_of(diagnostics, namespace)[1]
        first, last = (int(values.get(f'input_sequence_{end}', 0)) for end in ('first', 'last'))
        counted = sum(int(values.get(f'frames_{k}', 0)) for k in counters)
        return last and counted >= last - first + 1 and values
    values = wait_for(settled, 30)
    assert values, status_of(diagnostics, namespace)[1]
    first, last = int(values['input_sequence_first']), int(values['input_sequence_last'])
    counted = sum(int(values[f'frames_{k}']) for k in counters)
    lost = int(values['frames_lost_in_transport'])
    assert last <= sent
    if camera_reliability == 'reliable':
        assert counted == last - first + 1, values
        assert (first, last, lost) == (1, sent, 0), values
    else:  # DDS may also report frames lost before the first one that arrived
        assert last - first + 1 <= counted <= sent, values


def test_a_camera_faster_than_the_model_costs_only_the_frames_served(
        ros, start_node, diagnostics):
    """A flood waits in DDS, not in the node: it takes few frames, counts the rest, ends fresh."""
    namespace = '/qos_flood'
    start_node(dict(TINY, input_size=518), namespace)
    camera = ros.create_publisher(Image, f'{namespace}/image', stream_qos('reliable', 5))
    assert wait_for(lambda: camera.get_subscription_count() > 0, 60)
    assert wait_for(lambda: status_of(diagnostics, namespace)[1].get('input_reliability')
                    == 'reliable', 15)
    sent = 300
    for stamp in range(1, sent + 1):
        camera.publish(vga_frame(stamp))
        time.sleep(0.002)

    def settled():
        values = status_of(diagnostics, namespace)[1]
        counted = sum(int(values.get(f'frames_{k}', 0)) for k in
                      ('published', 'dropped', 'bad', 'skipped', 'failed',
                       'lost_in_transport'))
        first, last = (int(values.get(f'input_sequence_{end}', 0)) for end in ('first', 'last'))
        # Frames sent before the reliable match completed may never reach the node.
        return last == sent and counted == last - first + 1 and values
    values = wait_for(settled, 60)
    assert values, {k: int(v) for k, v in status_of(diagnostics, namespace)[1].items()
                    if k.startswith(('frames_', 'input_sequence'))}
    # Every frame it took was served: the rest waited in DDS and were overwritten there.
    assert int(values['frames_received']) == int(values['frames_published']), values
    assert int(values['frames_dropped']) > sent / 2, values
