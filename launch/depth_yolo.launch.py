"""
Depth + YOLO + distance for one camera, optionally with RViz.

  ros2 launch depth_trt_ros depth_yolo.launch.py camera_topic:=/cam/image_raw \
      camera_info_topic:=/cam/camera_info yolo_model:=/models/yolo11n.onnx rviz:=true

Nodes and parameters come from config/depth_yolo.yaml (argument ``config``);
``detector:=false`` / ``distance:=false`` leave stages out.
``depth-trt-ros pipeline --config config/depth_yolo.yaml`` runs the same in one process.
"""
from depth_trt_ros.ros.launch_actions import describe_pipeline


def generate_launch_description():
    return describe_pipeline('depth_yolo.yaml', 'depth_yolo.rviz')
