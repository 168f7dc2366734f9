"""
Run in a child process by test_wire: checked deserialization of hostile payloads.

A crash (SIGSEGV) ends this process with a signal, which the parent reports;
a clean run prints how many payloads were refused and how many deserialized.
"""
import sys

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2, PointField

from depth_trt_ros.ros.wire import deserialize_checked, MalformedMessage
from hostile import hostile_payloads

SAMPLES = {
    Image: [Image(height=2, width=3, encoding='rgb8', step=9, data=bytes(range(18)))],
    CompressedImage: [CompressedImage(format='jpeg', data=b'\xff\xd8\xff\xd9')],
    CameraInfo: [CameraInfo(distortion_model='plumb_bob', d=[0.1] * 5, width=640, height=480)],
    PointCloud2: [PointCloud2(fields=[PointField(name='x', datatype=7, count=1)],
                              data=bytes(12), width=3, height=1)],
    DiagnosticArray: [DiagnosticArray(status=[DiagnosticStatus(
        name='n', values=[KeyValue(key='k', value='v')] * 3)])],
}


def main(count: int) -> int:
    refused = accepted = 0
    for msg_type, samples in SAMPLES.items():
        for payload in hostile_payloads(samples, count, seed=hash(msg_type.__name__) % 1000):
            try:
                deserialize_checked(payload, msg_type)
                accepted += 1
            except (MalformedMessage, RuntimeError):
                refused += 1
    print(f'refused {refused} accepted {accepted}')
    return 0


if __name__ == '__main__':
    sys.exit(main(int(sys.argv[1])))
