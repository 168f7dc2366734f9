"""
``--detector MODEL.onnx`` and the detection options of offline tools.

The options are detector_node's parameters under the same names, with the
defaults and help of its parameter table, and they become the configuration
the node reads, so :func:`~depth_trt_ros.inference.detection.build.build_detector`
loads the model for both. The model runs on the depth model's ``--device``
and ``--precision``.
"""
import importlib
from pathlib import Path
from typing import Optional

from depth_trt_ros.inference.detection.yolo import HOW_TO_EXPORT
from depth_trt_ros.ros.detection_params import DETECTOR_SPECS
from depth_trt_ros.ros.params import check_values

# The detector_node parameters that matter offline (camera input and QoS do not).
OPTIONS = ('confidence', 'iou', 'max_detections', 'classes', 'class_names_file')


def _flag(name: str) -> str:
    return '--' + name.replace('_', '-')


def add_detector_arguments(parser):
    """Add ``--detector`` and the detection options, in a group of their own."""
    group = parser.add_argument_group(
        'detection', 'also run a YOLO detector on every frame (see docs/detection.md)')
    group.add_argument('--detector', metavar='MODEL.onnx',
                       help=DETECTOR_SPECS['model_path'].description)
    for name in OPTIONS:
        spec = DETECTOR_SPECS[name]
        # None until given, so that an option without --detector can be refused.
        group.add_argument(_flag(name), type=type(spec.default), metavar=name.upper(),
                           help=f'{spec.description} (default {spec.default!r})')


def detector_config(args) -> Optional[dict]:
    """Return detector_node's configuration for the options, or None without ``--detector``."""
    given = {name: getattr(args, name) for name in OPTIONS if getattr(args, name) is not None}
    if args.detector is None:
        if given:
            raise ValueError(f'{_flag(next(iter(given)))} needs --detector MODEL.onnx')
        return None
    if not Path(args.detector).is_file():
        raise ValueError(f'--detector {args.detector}: no such file; export a YOLO model '
                         f'{HOW_TO_EXPORT}')
    values = {name: spec.default for name, spec in DETECTOR_SPECS.items()}
    values.update(given, model_path=args.detector, device=args.device,
                  precision=args.precision)
    return check_values(values, DETECTOR_SPECS)


def require_vision_msgs(needs: str):
    """Import vision_msgs, or raise ValueError that says what ``needs`` it and how to get it."""
    try:
        importlib.import_module('vision_msgs.msg')
    except ModuleNotFoundError as error:
        if not (error.name or '').startswith('vision_msgs'):
            raise
        raise ValueError(f'{needs} vision_msgs detections, and vision_msgs is not installed: '
                         'run scripts/setup_env.sh, which builds it into the venv, or with a '
                         'sourced ROS 2 install ros-<distro>-vision-msgs '
                         '(docs/vision_msgs.md)') from error
