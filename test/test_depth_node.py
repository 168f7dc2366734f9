"""depth_node over real DDS: a frame in from another process, depth out."""
import os
import sys
import time

from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from skimage import data

from conftest import Collector, diagnostic_values, wait_for
from depth_trt_ros.ros.conversions import fill_image
from depth_trt_ros.ros.qos import stream_qos

pytestmark = pytest.mark.ros
NAMESPACE = '/depth_test'
STAGE_KEYS = [f'{stage}_ms_{stat}' for stage in
              ('convert', 'preprocess', 'infer', 'postprocess', 'publish', 'latency')
              for stat in ('mean', 'p50', 'p95')]
RELIABLE = stream_qos('reliable', 10)
# random:tiny is a relative model: its output is named so (REP 118 keeps depth for metres).
OUTPUT = f'{NAMESPACE}/relative_inverse_depth'


@pytest.fixture(scope='module')
def graph(ros, start_node):
    """Start a depth_node; return it with the test's publishers and collectors."""
    start_node({'model_path': 'random:tiny', 'device': 'cpu', 'input_size': 140},
               NAMESPACE)
    image_pub = ros.create_publisher(Image, f'{NAMESPACE}/image', RELIABLE)
    info_pub = ros.create_publisher(CameraInfo, f'{NAMESPACE}/camera_info', RELIABLE)
    depth = Collector(ros, Image, f'{NAMESPACE}/relative_inverse_depth', RELIABLE)
    diagnostics = Collector(ros, DiagnosticArray, '/diagnostics', 10)
    assert wait_for(lambda: image_pub.get_subscription_count() > 0, 60), 'node never subscribed'
    assert wait_for(lambda: info_pub.get_subscription_count() > 0, 10)
    # qos 'auto' re-subscribes once it sees this reliable publisher: wait for that to settle.
    assert wait_for(lambda: diagnostic_values(diagnostics.messages, NAMESPACE)[1].get(
        'input_reliability') == 'reliable', 30)
    return ros, image_pub, info_pub, depth, diagnostics


def frame_message(rgb: np.ndarray, stamp_sec: int, encoding='bgr8') -> Image:
    payload = rgb[..., ::-1] if encoding == 'bgr8' else rgb
    msg = fill_image(Image(), np.ascontiguousarray(payload), 'rgb8')
    msg.encoding = encoding
    msg.header.frame_id = 'camera_optical'
    msg.header.stamp.sec, msg.header.stamp.nanosec = stamp_sec, 123
    return msg


def send_and_wait(graph, msg: Image, timeout=30.0) -> Image:
    _, image_pub, _, depth, _ = graph
    image_pub.publish(msg)
    stamp = msg.header.stamp
    found = wait_for(lambda: [m for m in depth.messages if m.header.stamp == stamp], timeout)
    assert found, f'no depth for stamp {stamp.sec}'
    return found[0]


def node_diagnostics(graph, predicate=lambda values: True, timeout=10.0):
    diagnostics = graph[4]
    wait_for(lambda: predicate(diagnostic_values(diagnostics.messages, NAMESPACE)[1]),
             timeout)
    return diagnostic_values(diagnostics.messages, NAMESPACE)


def test_depth_keeps_stamp_frame_and_size(graph):
    rgb = data.astronaut()[:480, :500]
    info = CameraInfo(width=500, height=480)
    info.k = [400.0, 0.0, 250.0, 0.0, 400.0, 240.0, 0.0, 0.0, 1.0]
    graph[2].publish(info)
    camera_info = Collector(graph[0], CameraInfo, f'{OUTPUT}/camera_info', RELIABLE)
    out = send_and_wait(graph, frame_message(rgb, 1001))
    assert (out.height, out.width, out.encoding) == (480, 500, '32FC1')
    assert out.header.frame_id == 'camera_optical'
    assert out.header.stamp.nanosec == 123
    depth = np.frombuffer(out.data, np.float32).reshape(480, 500)
    assert np.isfinite(depth).all()
    send_and_wait(graph, frame_message(rgb, 1002))
    infos = camera_info.wait(1, timeout=10)
    assert infos and infos[-1].header.frame_id == 'camera_optical'
    assert infos[-1].k[0] == 400.0
    camera_info.close()


def test_colorized_is_computed_only_while_subscribed(graph):
    rgb = data.coffee()
    send_and_wait(graph, frame_message(rgb, 2001))
    _, before = node_diagnostics(graph, lambda v: int(v.get('frames_published', 0)) >= 1)
    assert before['frames_colorized'] == '0'
    colorized = Collector(graph[0], Image, f'{OUTPUT}/colorized', RELIABLE)
    assert wait_for(lambda: graph[0].count_publishers(f'{OUTPUT}/colorized'), 10)
    # Until the node has seen this subscription it rightly computes no colorized view:
    # frames go on until one comes back colorized.
    stamps = iter(range(2002, 2100))

    def colorized_frame():
        send_and_wait(graph, frame_message(rgb, next(stamps)))
        return colorized.messages
    views = wait_for(colorized_frame, 30)
    assert views, 'no colorized view while subscribed'
    assert views[-1].encoding == 'bgr8'
    assert (views[-1].height, views[-1].width) == rgb.shape[:2]
    assert views[-1].header.stamp.sec >= 2002
    colorized.close()


def test_diagnostics_carry_every_stage(graph):
    send_and_wait(graph, frame_message(data.chelsea(), 3001, encoding='rgb8'))
    status, values = node_diagnostics(graph, lambda v: 'infer_ms_p95' in v)
    for key in STAGE_KEYS + ['input_hz', 'output_hz', 'frames_dropped', 'frames_bad',
                             'frames_lost_in_transport', 'backend', 'model', 'device',
                             'input_size', 'depth_type', 'state']:
        assert key in values, key
    assert values['backend'] == 'torch' and values['state'] == 'active'
    assert status.hardware_id.endswith('depth_node')


BAD_FRAMES = {
    'encoding': lambda m: setattr(m, 'encoding', 'bayer_grbg8'),
    'size': lambda m: setattr(m, 'step', 3),
    'truncated': lambda m: setattr(m, 'data', bytes(m.data[:100])),
    'empty': lambda m: (setattr(m, 'width', 0), setattr(m, 'height', 0),
                        setattr(m, 'step', 0), setattr(m, 'data', b'')),
}


def test_each_bad_frame_is_counted_and_the_next_good_one_served(graph):
    rgb = data.astronaut()[:240, :320]
    stamp = 4000
    for reason, spoil in BAD_FRAMES.items():
        bad = frame_message(rgb, stamp)
        spoil(bad)
        graph[1].publish(bad)
        _, values = node_diagnostics(graph, lambda v, r=reason: v.get(f'bad_{r}') == '1')
        assert values.get(f'bad_{reason}') == '1', values
        send_and_wait(graph, frame_message(rgb, stamp + 1))
        stamp += 2


def test_compressed_transport(ros, start_node):
    namespace = '/depth_test_compressed'
    start_node({'model_path': 'random:tiny', 'device': 'cpu', 'input_size': 140,
                'image_transport': 'compressed'}, namespace)
    publisher = ros.create_publisher(CompressedImage, f'{namespace}/image/compressed', RELIABLE)
    depth = Collector(ros, Image, f'{namespace}/relative_inverse_depth', RELIABLE)
    assert wait_for(lambda: publisher.get_subscription_count() > 0, 60)
    import cv2
    ok, jpeg = cv2.imencode('.jpg', data.coffee()[..., ::-1])
    msg = CompressedImage(format='jpeg', data=jpeg.tobytes())
    msg.header.stamp.sec = 77

    def served():
        # A frame sent while qos 'auto' re-subscribes can be lost: send until one is served.
        publisher.publish(msg)
        return wait_for(lambda: depth.messages, 2.0)
    assert wait_for(served, 30)
    out = depth.messages
    assert (out[0].height, out[0].width, out[0].header.stamp.sec) == (400, 600, 77)


@pytest.mark.parametrize('params,message', [
    ({'precision': 'fp64'}, "parameter 'precision' is 'fp64'"),
    ({'model_path': '/nonexistent/model'}, 'cannot load Depth-Anything model'),
    ({'device': 'cuda:7'}, "device 'cuda:7'"),
    ({'input_size': 100}, 'input_size'),
])
def test_bad_parameters_stop_start_up_with_the_fix(start_node, params, message):
    process = start_node(dict({'model_path': 'random:tiny', 'device': 'cpu'}, **params),
                         '/bad_params')
    output = process.output(timeout=60)
    assert process.process.returncode != 0
    assert message in output, output


def test_several_cameras_are_served_and_batched(ros, start_node):
    namespace = '/depth_test_multi'
    start_node({'model_path': 'random:tiny', 'device': 'cpu', 'input_size': 140,
                'image_topics': "['left/image', 'right/image']"}, namespace)
    cameras = {side: ros.create_publisher(Image, f'{namespace}/{side}/image', RELIABLE)
               for side in ('left', 'right')}
    depths = {side: Collector(ros, Image, f'{namespace}/{side}/relative_inverse_depth', RELIABLE)
              for side in cameras}
    diagnostics = Collector(ros, DiagnosticArray, '/diagnostics', 10)
    assert wait_for(lambda: all(p.get_subscription_count() for p in cameras.values()), 60)
    rgb = data.astronaut()[:120, :160]

    def both_served():  # the node's readers have matched both cameras
        for side, camera in cameras.items():
            camera.publish(frame_message(rgb, 1 if side == 'left' else 101))
        return wait_for(lambda: all(d.messages for d in depths.values()), 1.0)
    assert wait_for(both_served, 30), 'the node never served both cameras'
    for stamp in range(2, 21):
        for side, camera in cameras.items():
            camera.publish(frame_message(rgb, stamp if side == 'left' else 100 + stamp))
        time.sleep(0.05)  # pacing: pairs arrive together and are batched, not a wait
    for side, first in (('left', 1), ('right', 101)):
        assert depths[side].wait(1), f'no depth on {side}'
        assert all(first <= m.header.stamp.sec < first + 20 for m in depths[side].messages)

    def counters():
        _, values = diagnostic_values(diagnostics.messages, namespace)
        return values if int(values.get('frames_published', 0)) == \
            sum(len(d.messages) for d in depths.values()) else None
    values = wait_for(counters, 10)
    assert values, diagnostic_values(diagnostics.messages, namespace)
    assert values['input_topic[left]'] == f'{namespace}/left/image'
    assert int(values['inference_calls']) < int(values['frames_published'])
    for side in depths:
        assert int(values[f'frames_published[{side}]']) == len(depths[side].messages)


def test_frames_outside_the_engine_profile_are_counted_and_the_rest_served(ros, start_node):
    namespace = '/narrow_engine'
    test_dir = os.path.dirname(__file__)
    node = start_node({'model_path': 'random:tiny', 'device': 'cpu', 'input_size': 140},
                      namespace, module='narrow_engine_child',
                      env={'PYTHONPATH': os.pathsep.join([test_dir, *sys.path])})
    image_pub = ros.create_publisher(Image, f'{namespace}/image', RELIABLE)
    depth = Collector(ros, Image, f'{namespace}/relative_inverse_depth', RELIABLE)
    diagnostics = Collector(ros, DiagnosticArray, '/diagnostics', 10)
    assert wait_for(lambda: image_pub.get_subscription_count() > 0, 60), node.log_so_far()
    rgb = data.astronaut()
    stamps = iter(range(1, 10**6))

    def served(width):
        msg = frame_message(rgb[:72, :width], next(stamps))
        image_pub.publish(msg)
        return wait_for(lambda: [m for m in depth.messages
                                 if m.header.stamp == msg.header.stamp], 1.0)
    assert wait_for(lambda: served(96), 30), 'a frame inside the profile was not served'
    for _ in range(3):
        assert not served(128), 'a frame outside the profile was served'

    def values():
        return diagnostic_values(diagnostics.messages, namespace)[1]
    assert wait_for(lambda: values().get('bad_outside_engine_profile') == '3', 10), values()
    assert values().get('frames_failed', '0') == '0', values()
    assert '128 px wide frames are outside' in node.log_so_far()
    assert served(96), 'the node stopped serving after refusing frames'
