"""
Depth alone: depth_node for one camera, optionally with RViz.

  ros2 launch depth_trt_ros depth.launch.py camera_topic:=/cam/image_raw namespace:=front

Parameters come from config/depth.yaml (argument ``config``).
``depth-trt-ros pipeline --config config/depth.yaml`` runs the same in one process.
"""
from depth_trt_ros.ros.launch_actions import describe_pipeline


def generate_launch_description():
    return describe_pipeline('depth.yaml', 'depth_yolo.rviz', (
        'namespace', 'camera_topic', 'camera_info_topic', 'depth_model', 'use_sim_time',
        'autostart'))
