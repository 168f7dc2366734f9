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


COUNTERS = ('published', 'dropped', 'bad', 'skipped', 'failed', 'lost_in_transport')


def counted(values) -> int:
    return sum(int(values.get(f'frames_{counter}', 0)) for counter in COUNTERS)


@pytest.mark.parametrize('camera_reliability, size', [
    ('reliable', (480, 640)), ('best_effort', (240, 320)), ('best_effort', (480, 640))])
def test_every_frame_at_30hz_is_served_or_counted(ros, start_node, diagnostics,
                                                  camera_reliability, size):
    """
    Default parameters; the node must account for every frame it could know of.

    Over Fast DDS's default transports a best-effort 320x240 frame (230 kB)
    arrives and a 640x480 one (920 kB) mostly does not (README, "Large images
    and DDS"): the first must be served, the second counted as lost.
    """
    namespace = f'/qos_{camera_reliability}_{size[1]}x{size[0]}'
    start_node(TINY, namespace)
    camera = ros.create_publisher(Image, f'{namespace}/image',
                                  stream_qos(camera_reliability, 5))
    assert wait_for(lambda: camera.get_subscription_count() > 0, 60)
    # Let the node's auto QoS see this publisher and settle on its reliability.
    assert wait_for(lambda: status_of(diagnostics, namespace)[1].get('input_reliability')
                    == camera_reliability, 15)
    time.sleep(1.5)  # the node's re-subscription settles: not a wait for a condition
    pixels = VGA[:size[0], :size[1]].copy()
    sent = 60
    for stamp in range(1, sent + 1):
        msg = fill_image(Image(), pixels, 'rgb8')
        msg.header.stamp.sec = stamp
        camera.publish(msg)
        time.sleep(1 / 30)  # pacing: a 30 Hz camera

    def sequence(values):
        return [int(values.get(f'input_sequence_{end}', 0)) for end in ('first', 'last')]

    if camera_reliability == 'best_effort' and size == (480, 640):
        # Nothing may be lost silently: what did not arrive is counted from DDS's message-
        # lost events (all 60 on Kilted; on Jazzy some arrive and not every loss before the
        # first arrival is reported), and said in the status.
        def reported():
            values = status_of(diagnostics, namespace)[1]
            first, last = sequence(values)
            lost = int(values.get('frames_lost_in_transport', 0))
            return ((lost or counted(values) >= 0.9 * sent)
                    and counted(values) >= last - first + 1 and values)
        values = wait_for(reported, 30)
        assert values, ' '.join(f'{key}={value}' for key, value in
                                status_of(diagnostics, namespace)[1].items()
                                if key.startswith(('frames_', 'input_')))
        assert counted(values) <= sent, values
        if int(values['frames_lost_in_transport']):
            status = status_of(diagnostics, namespace)[0]
            assert 'lost in transport' in status.message, status.message
            assert status.level == DiagnosticStatus.WARN
        return

    def settled():
        values = status_of(diagnostics, namespace)[1]
        first, last = sequence(values)
        return last and counted(values) >= last - first + 1 and values
    values = wait_for(settled, 30)
    assert values, status_of(diagnostics, namespace)[1]
    first, last = int(values['input_sequence_first']), int(values['input_sequence_last'])
    lost = int(values['frames_lost_in_transport'])
    assert last <= sent
    if camera_reliability == 'reliable':
        assert counted(values) == last - first + 1, values
        assert (first, last, lost) == (1, sent, 0), values
    else:  # DDS may also report frames lost before the first one that arrived
        assert last - first + 1 <= counted(values) <= sent, values
        # Arrived through DDS: all but the lost (the node may drop some, being slower).
        assert counted(values) - lost >= 0.9 * sent, ' '.join(
            f'{key}={value}' for key, value in values.items() if key.startswith('frames_'))


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
        first, last = (int(values.get(f'input_sequence_{end}', 0)) for end in ('first', 'last'))
        # Frames sent before the reliable match completed may never reach the node.
        return last == sent and counted(values) == last - first + 1 and values
    values = wait_for(settled, 60)
    assert values, {k: int(v) for k, v in status_of(diagnostics, namespace)[1].items()
                    if k.startswith(('frames_', 'input_sequence'))}
    # Every frame it took was served: the rest waited in DDS and were overwritten there.
    assert int(values['frames_received']) == int(values['frames_published']), values
    assert int(values['frames_dropped']) > sent / 2, values
