"""Organized sensor_msgs/PointCloud2 from an ``[H, W, 3|4]`` float32 array."""
import math

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
    """
    Intrinsics of ``info`` rescaled to an image of ``width`` x ``height``.

    Raises ValueError for a camera_info that cannot place points: K all zero (an
    uncalibrated camera, as many USB drivers publish), or non-finite or
    negative focal lengths.
    """
    k = info.k
    fx, fy, cx, cy = (float(k[i]) for i in (0, 4, 2, 5))
    if not all(map(math.isfinite, (fx, fy, cx, cy))) or fx <= 0 or fy <= 0:
        raise ValueError(f'camera_info K has no usable focal length (fx={fx:g}, fy={fy:g}): '
                         'calibrate the camera')
    intrinsics = Intrinsics(fx=fx, fy=fy, cx=cx, cy=cy)
    if info.width and info.height and (info.width, info.height) != (width, height):
        intrinsics = intrinsics.scaled(width / info.width, height / info.height)
    return intrinsics
