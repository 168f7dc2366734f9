"""Install rules for depth_trt_ros (ament_python, also pip-installable)."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'depth_trt_ros'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    # Message definitions that replay registers with rosbags to write vision_msgs to bags.
    package_data={PACKAGE: ['interfaces/*/msg/*.msg']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        ('share/' + PACKAGE + '/launch', glob('launch/*.launch.py')),
        ('share/' + PACKAGE + '/config', glob('config/*.yaml') + glob('config/*.rviz')),
    ],
    install_requires=['setuptools'],
    # torchvision's batched_nms replaces the plain-torch NMS fallback (requirements/gpu.txt
    # pins the release built for the pinned torch).
    extras_require={'gpu': ['torchvision']},
    zip_safe=True,
    maintainer='depth_trt_ros maintainers',
    maintainer_email='maintainers@depth-trt-ros.invalid',
    description='Real-time monocular depth (Depth-Anything-V2) for ROS 2 with TensorRT.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'depth_node = depth_trt_ros.ros.depth_node:main',
            'detector_node = depth_trt_ros.ros.detector_node:main',
            'distance_node = depth_trt_ros.ros.distance_node:main',
            'depth-trt-ros = depth_trt_ros.tools.cli:main',
        ],
    },
)
