"""Organized sensor_msgs/PointCloud2 from an ``[H, W, 3|4]`` float32 array."""
import numpy as np
from sensor_msgs.msg import CameraInfo, PointCloud2, PointField

from depth_trt_ros.inference.geometry import Intrinsics

_FIELDS = ('x', 'y', 'z', 'rgb')


def point_cloud(header, points: np.ndarray) -> PointCloud2:
    """Wrap xyz (or xyz + packed rgb) points; NaN marks pixels without depth."""
    height, width, channels = points.shape
    if points.dtype != np.float32 or channels not in (3, 4):
        raise ValueError(f'points must be float32 [H, W, 3|4], got {points.dtype} '
                         f'{points.shape}')
    fields = [PointField(name=name, offset=4 * i, datatype=PointField.FLOAT32, count=1)
              for i, name in enumerate(_FIELDS[:channels])]
    return PointCloud2(header=header, height=height, width=width, fields=fields,
                       is_bigendian=False, point_step=4 * channels,
                       row_step=4 * channels * width, is_dense=False,
                       data=np.ascontiguousarray(points).tobytes())


def intrinsics_for(info: CameraInfo, width: int, height: int) -> Intrinsics:
    """Intrinsics of ``info`` rescaled to an image of ``width`` x ``height``."""
    k = info.k
    if k[0] <= 0 or k[4] <= 0:
        raise ValueError('camera_info has no focal length (K is zero): calibrate the camera')
    intrinsics = Intrinsics(fx=k[0], fy=k[4], cx=k[2], cy=k[5])
    if info.width and info.height and (info.width, info.height) != (width, height):
        intrinsics = intrinsics.scaled(width / info.width, height / info.height)
    return intrinsics
