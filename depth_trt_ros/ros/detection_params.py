"""
Parameters of the detector and distance nodes, declared like the depth node's.

Each node has one table of :class:`~depth_trt_ros.ros.params.Spec`; rclpy
enforces the ranges, and a wrong choice or missing file stops start-up with
a message that names the parameter and the fix. Offline tools that run the
detector (``replay --detector``) take their defaults from the same table and
check their values with :func:`~depth_trt_ros.ros.params.check_values`.
The detector's model is chosen at configure: a live model change would need
what the depth node's ModelReload does, which no one has asked for yet.
"""
from dataclasses import replace
from typing import Dict

from depth_trt_ros.ros.params import Spec, SPECS

# Camera input, output QoS and lifecycle work as in the depth node.
COMMON_SPECS: Dict[str, Spec] = {name: SPECS[name] for name in (
    'qos', 'qos_depth', 'output_qos', 'input_timeout', 'autostart')}

DETECTOR_SPECS: Dict[str, Spec] = {
    'model_path': Spec('', 'YOLOv8/YOLO11 detection model: .onnx, .torchscript or a TensorRT '
                       '.engine (see docs/detection.md for the export)', configure_only=True),
    'backend': Spec('auto', "Inference runtime; 'auto' picks it from the model file: "
                    'onnxruntime (.onnx), torch (.torchscript), tensorrt (.engine)',
                    ('auto', 'onnxruntime', 'torch', 'tensorrt'), configure_only=True),
    'device': replace(SPECS['device'], needs_reload=False, configure_only=True),
    'precision': replace(SPECS['precision'], needs_reload=False, configure_only=True),
    'class_names_file': Spec('', 'YAML file with class names (a list, an {id: name} map or a '
                             "dataset file with 'names'); empty: names from the model",
                             configure_only=True),
    'confidence': Spec(0.25, 'Minimum class score of a detection', float_range=(0.0, 1.0)),
    'iou': Spec(0.45, 'Overlap (IoU) above which NMS suppresses the weaker box of a class',
                float_range=(0.0, 1.0)),
    'max_detections': Spec(100, 'Most detections per frame, best first',
                           int_range=(1, 1000, 1)),
    'classes': Spec('', 'Comma-separated class names or ids to keep; empty keeps all'),
    'image_transport': SPECS['image_transport'],
    **COMMON_SPECS,
}

DISTANCE_SPECS: Dict[str, Spec] = {
    'central_fraction': Spec(0.5, 'Part of each box (per side) whose depth is used; the '
                             'border is mostly background', float_range=(0.05, 1.0)),
    'min_valid_fraction': Spec(0.1, 'Least share of valid depth pixels for a distance',
                               float_range=(0.0, 1.0)),
    'sync_slop': Spec(0.05, 'Seconds by which detection and depth stamps may differ when no '
                      'depth has exactly the same stamp', float_range=(0.0, 1.0)),
    'sync_queue': Spec(10, 'Messages kept per stream while waiting for a partner',
                       int_range=(1, 100, 1)),
    'sync_timeout': Spec(0.5, 'Seconds a detection waits for depth while no later depth '
                         'arrives; then it goes out without its own depth',
                         float_range=(0.01, 10.0)),
    'marker_lifetime': Spec(0.5, 'Seconds a distance marker stays visible',
                            float_range=(0.0, 60.0)),
    **COMMON_SPECS,
    # Pairing by stamp needs the messages that arrive while its partner is on the way.
    'qos_depth': Spec(5, 'Input history depth of each stream', int_range=(1, 100, 1),
                      restarts_input=True),
}
