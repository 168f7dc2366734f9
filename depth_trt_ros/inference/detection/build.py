"""
The detector a configuration describes: model, class names and what counts as a detection.

detector_node and ``replay --detector`` build it from the same parameter
values (a plain mapping of detector_node's parameter names), so both detect
alike. Nothing here knows about ROS.
"""
import time
from typing import Tuple

from depth_trt_ros.inference.detection.class_names import load_class_names
from depth_trt_ros.inference.detection.yolo import DetectionSettings, load_yolo_backend, \
    model_class_names, YoloDetector


def class_filter(text: str, names) -> Tuple[int, ...]:
    """Class ids from ``'person, 2'``: names or ids; raises ValueError naming the unknown one."""
    ids = []
    for item in (part.strip() for part in text.split(',')):
        if not item:
            continue
        if item.isdigit():
            ids.append(int(item))
        elif item in names:
            ids.append(list(names).index(item))
        else:
            raise ValueError(f"parameter 'classes' names '{item}', which the model does not "
                             f"know: use ids or names from {list(names)[:10]}...")
    return tuple(ids)


def detection_settings(config, names) -> DetectionSettings:
    """Return what counts as a detection under ``config``; ValueError for an unknown class."""
    return DetectionSettings(config['confidence'], config['iou'], config['max_detections'],
                             class_filter(config['classes'], names))


def build_detector(config, log) -> YoloDetector:
    """Load the model ``config`` names, with the detection settings; logs the time taken."""
    started = time.perf_counter()
    backend = load_yolo_backend(config['backend'], config['model_path'], config['device'],
                                config['precision'])
    names = load_class_names(config['class_names_file']) if config['class_names_file'] \
        else model_class_names(backend)
    detector = YoloDetector(backend, detection_settings(config, names), names)
    log(f"{backend.name} backend on {backend.device} ({backend.precision}) loaded "
        f"{config['model_path']} "
        f'({len(detector.class_names)} classes) in {time.perf_counter() - started:.1f} s')
    return detector
