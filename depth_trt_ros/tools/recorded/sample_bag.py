"""
A small rosbag2 of real photographs, for tests, the README and first runs.

scikit-image ships the photographs, so this works offline on a fresh clone.
The same frames go out as ``sensor_msgs/Image`` and as JPEG
``sensor_msgs/CompressedImage``, with a ``CameraInfo`` before each frame.
"""
import cv2
import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from skimage import data

from depth_trt_ros.ros.conversions import fill_image
from depth_trt_ros.tools.recorded.bags import BagWriter

SAMPLE_NAMESPACE = '/camera'
IMAGE_TOPIC = SAMPLE_NAMESPACE + '/image'
COMPRESSED_TOPIC = IMAGE_TOPIC + '/compressed'
CAMERA_INFO_TOPIC = SAMPLE_NAMESPACE + '/camera_info'
FRAME_ID = 'camera_optical_frame'
# A fixed start keeps the sample byte-for-byte reproducible.
START_NS = 1_700_000_000 * 10**9
SIZE = (480, 640)


def sample_photographs(size=SIZE):
    """astronaut, chelsea and coffee, centre-cropped to 4:3 and resized to ``size``."""
    height, width = size
    frames = []
    for photo in (data.astronaut(), data.chelsea(), data.coffee()):
        rows, cols = photo.shape[:2]
        crop_cols = min(cols, rows * width // height)
        crop_rows = crop_cols * height // width
        top, left = (rows - crop_rows) // 2, (cols - crop_cols) // 2
        cropped = photo[top:top + crop_rows, left:left + crop_cols]
        frames.append(cv2.resize(cropped, (width, height), interpolation=cv2.INTER_AREA))
    return frames


def pinhole_camera_info(height: int, width: int) -> CameraInfo:
    """Return a plausible 60-degree pinhole camera without distortion."""
    focal = width / (2 * np.tan(np.radians(30)))
    cx, cy = (width - 1) / 2, (height - 1) / 2
    info = CameraInfo(height=height, width=width, distortion_model='plumb_bob')
    info.d = [0.0] * 5
    info.k = [focal, 0.0, cx, 0.0, focal, cy, 0.0, 0.0, 1.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [focal, 0.0, cx, 0.0, 0.0, focal, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


def write_sample_bag(path, frames: int = 6, rate_hz: float = 10.0,
                     storage: str = 'sqlite3') -> int:
    """Write ``frames`` frames cycling through the photographs; returns the frame count."""
    photos = sample_photographs()
    info = pinhole_camera_info(*SIZE)
    with BagWriter(path, storage) as bag:
        for index in range(frames):
            stamp_ns = START_NS + int(index * 1e9 / rate_hz)
            rgb = photos[index % len(photos)]
            image = fill_image(Image(), rgb, 'rgb8')
            image.header.frame_id = FRAME_ID
            image.header.stamp.sec, image.header.stamp.nanosec = divmod(stamp_ns, 10**9)
            ok, jpeg = cv2.imencode('.jpg', rgb[..., ::-1])
            assert ok, 'OpenCV failed to encode a JPEG'
            compressed = CompressedImage(header=image.header, format='jpeg',
                                         data=jpeg.tobytes())
            info.header = image.header
            bag.write(CAMERA_INFO_TOPIC, stamp_ns, info)
            bag.write(IMAGE_TOPIC, stamp_ns, image)
            bag.write(COMPRESSED_TOPIC, stamp_ns, compressed)
    return frames
