"""Object detection (YOLOv8/11 exports) on the same backends as depth; no ROS here."""
