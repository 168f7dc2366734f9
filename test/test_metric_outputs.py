"""Metric depth: metres with NaN, 16UC1 millimetres with 0, organized point clouds."""
import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
import torch

from conftest import Collector, wait_for
from depth_trt_ros.inference.backends.base import Backend, BackendInfo
from depth_trt_ros.inference.estimator import DepthEstimator, Outputs
from depth_trt_ros.inference.geometry import back_project, Intrinsics, pack_rgb, \
    to_millimetres
from depth_trt_ros.ros.conversions import fill_image
from depth_trt_ros.ros.pointcloud import intrinsics_for, point_cloud
from depth_trt_ros.ros.qos import stream_qos

RELIABLE = stream_qos('reliable', 10)
INTRINSICS = Intrinsics(fx=50.0, fy=60.0, cx=31.5, cy=23.5)


class KnownDepthBackend(Backend):
    """A metric backend whose output is a known slanted plane with a hole in one corner."""

    name = 'known'

    def __init__(self):
        super().__init__(torch.device('cpu'), 'fp32')
        self.model_metadata = {'depth_estimation_type': 'metric'}

    def infer(self, pixel_values):
        batch, _, height, width = pixel_values.shape
        rows = torch.linspace(1.0, 3.0, height).view(height, 1).expand(height, width)
        depth = rows.clone()
        depth[:40, :40] = 0.0
        return depth.expand(batch, height, width)

    def info(self):
        return BackendInfo(self.name, 'plane', 'cpu', 'fp32')


def test_geometry_of_a_known_plane():
    estimator = DepthEstimator(KnownDepthBackend(), input_size=140)
    frame = np.full((48, 64, 3), (10, 20, 30), np.uint8)
    result = estimator.estimate(frame, outputs=Outputs(depth_mm=True, intrinsics=INTRINSICS,
                                                       points_rgb=True))
    depth = result.depth
    assert np.isnan(depth[:5, :5]).all() and result.metric
    valid = np.isfinite(depth)
    np.testing.assert_array_equal(result.depth_mm[~valid], 0)
    np.testing.assert_array_equal(result.depth_mm[valid], np.round(depth[valid] * 1000))
    v, u = np.mgrid[0:48, 0:64]
    expected = np.dstack([(u - 31.5) * depth / 50.0, (v - 23.5) * depth / 60.0, depth])
    np.testing.assert_allclose(result.points[..., :3], expected, rtol=1e-5, equal_nan=True)
    rgb = result.points[..., 3].view(np.uint32)
    assert (rgb == (10 << 16 | 20 << 8 | 30)).all()


def test_millimetres_clip_to_the_16_bit_range():
    depth = torch.tensor([0.0015, 1.2344, 65.535, 70.0, float('nan')])
    assert to_millimetres(depth).tolist() == [2, 1234, 65535, 0, 0]


def test_back_projection_and_packing_shapes():
    depth = torch.ones(2, 3)
    points = back_project(depth, Intrinsics(1.0, 1.0, 0.0, 0.0))
    assert points.shape == (2, 3, 3) and points[1, 2].tolist() == [2.0, 1.0, 1.0]
    packed = pack_rgb(points, torch.zeros(2, 3, 3, dtype=torch.uint8))
    assert packed.shape == (2, 3, 4)


def test_point_cloud_message_layout():
    points = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    msg = point_cloud(PointCloud2().header, points)
    assert (msg.height, msg.width, msg.point_step, msg.row_step) == (2, 3, 16, 48)
    assert [f.name for f in msg.fields] == ['x', 'y', 'z', 'rgb']
    assert not msg.is_dense


def test_intrinsics_follow_the_image_size():
    info = CameraInfo(width=1280, height=960)
    info.k = [1000.0, 0.0, 640.0, 0.0, 1000.0, 480.0, 0.0, 0.0, 1.0]
    scaled = intrinsics_for(info, 640, 480)
    assert (scaled.fx, scaled.fy, scaled.cx, scaled.cy) == (500.0, 500.0, 320.0, 240.0)
    with pytest.raises(ValueError, match='calibrate'):
        intrinsics_for(CameraInfo(), 640, 480)


@pytest.mark.ros
def test_metric_topics_over_dds(ros, start_node):
    namespace = '/metric_test'
    start_node({'model_path': 'random:tiny-metric', 'device': 'cpu', 'input_size': 140,
                'publish_depth_mm': True, 'publish_points': True}, namespace)
    image_pub = ros.create_publisher(Image, f'{namespace}/image', RELIABLE)
    info_pub = ros.create_publisher(CameraInfo, f'{namespace}/camera_info', RELIABLE)
    depth = Collector(ros, Image, f'{namespace}/depth', RELIABLE)
    millimetres = Collector(ros, Image, f'{namespace}/depth/mm', RELIABLE)
    points = Collector(ros, PointCloud2, f'{namespace}/points', RELIABLE)
    assert wait_for(lambda: image_pub.get_subscription_count() and
                    info_pub.get_subscription_count(), 60)
    info = CameraInfo(width=64, height=48)
    info.k = [50.0, 0.0, 31.5, 0.0, 60.0, 23.5, 0.0, 0.0, 1.0]
    frame = fill_image(Image(), np.random.default_rng(1).integers(0, 255, (48, 64, 3),
                                                                  np.uint8), 'rgb8')
    frame.header.frame_id = 'cam_optical'

    def cloud_arrived():
        # Points need camera_info first; under load it may trail the first frames.
        info_pub.publish(info)
        frame.header.stamp.sec += 1
        image_pub.publish(frame)
        return wait_for(lambda: points.messages, 1.0)
    assert wait_for(cloud_arrived, 30), 'no point cloud'
    stamp = points.messages[0].header.stamp
    for collector in (depth, millimetres):
        assert wait_for(lambda c=collector: [m for m in c.messages if m.header.stamp == stamp],
                        10), 'missing output'
    depth.messages = [m for m in depth.messages if m.header.stamp == stamp]
    millimetres.messages = [m for m in millimetres.messages if m.header.stamp == stamp]
    for collector in (depth, millimetres, points):
        assert collector.messages[0].header.frame_id == 'cam_optical'
    metres = np.frombuffer(depth.messages[0].data, np.float32).reshape(48, 64)
    assert np.nanmax(metres) <= 20.0 and np.nanmin(metres) > 0
    mm = np.frombuffer(millimetres.messages[0].data, np.uint16).reshape(48, 64)
    assert millimetres.messages[0].encoding == '16UC1'
    np.testing.assert_array_equal(mm, np.round(np.nan_to_num(metres) * 1000))
    cloud = np.frombuffer(points.messages[0].data, np.float32).reshape(48, 64, 4)
    v, u = np.mgrid[0:48, 0:64]
    np.testing.assert_allclose(cloud[..., 0], (u - 31.5) * metres / 50.0, rtol=1e-5)
    np.testing.assert_allclose(cloud[..., 1], (v - 23.5) * metres / 60.0, rtol=1e-5)


@pytest.mark.ros
def test_points_with_a_relative_model_refuse_to_start(start_node):
    process = start_node({'model_path': 'random:tiny', 'device': 'cpu',
                          'publish_points': True}, '/relative_points')
    output = process.output(timeout=60)
    assert process.process.returncode != 0
    assert 'relative-depth model' in output and 'publish_points' in output
