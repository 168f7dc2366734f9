"""
The nodes of a configuration: which run, their remaps, options and overrides.

The launch files and ``depth-trt-ros pipeline`` share this one description of
the nodes (which topics follow the camera, which option overrides the model)
and read the same parameter file, so both start the same nodes with the same
parameters, namespace and remaps.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import yaml


@dataclass(frozen=True)
class Stage:
    """A node the pipeline can run, and how the launch options reach it."""

    module: str
    node_class: str
    # (node topic, option naming the topic it is remapped to)
    camera_remaps: Tuple[Tuple[str, str], ...] = ()
    # option that overrides the node's model_path when not empty
    model_option: str = ''
    # option that switches the node on and off ('' = always on)
    switch: str = ''


STAGES: Dict[str, Stage] = {
    'depth_node': Stage('depth_trt_ros.ros.depth_node', 'DepthNode',
                        (('image', 'camera_topic'), ('camera_info', 'camera_info_topic')),
                        'depth_model'),
    'detector_node': Stage('depth_trt_ros.ros.detector_node', 'DetectorNode',
                           (('image', 'camera_topic'),), 'yolo_model', 'detector'),
    'distance_node': Stage('depth_trt_ros.ros.distance_node', 'DistanceNode',
                           switch='distance'),
}

# Options of this tool = arguments of the launch files: name -> (default, description).
OPTIONS: Dict[str, Tuple[str, str]] = {
    'namespace': ('', 'Namespace of every node and topic'),
    'camera_topic': ('/camera/image_raw', 'Camera image topic (the nodes subscribe image)'),
    'camera_info_topic': ('/camera/camera_info', 'Camera calibration topic'),
    'depth_model': ('', "Depth model_path; empty keeps the configuration's"),
    'yolo_model': ('', "YOLO model_path; empty keeps the configuration's"),
    'use_sim_time': ('false', 'Follow /clock (bag replay, simulation)'),
    'autostart': ('true', 'Configure and activate the nodes at start; false leaves them to a '
                  'lifecycle manager'),
    'detector': ('true', 'Run detector_node (YOLO)'),
    'distance': ('true', 'Run distance_node (needs the detector and metric depth)'),
}
# The one section of config/depth.yaml, for whichever node loads it: the depth node.
WILDCARD_SECTION = '/**'


def configured_nodes(config) -> List[str]:
    """Names of the nodes that ``config`` has parameters for, in file order."""
    try:
        content = yaml.safe_load(Path(config).read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read configuration '{config}': {error}") from error
    sections = [key for key, value in content.items()
                if isinstance(value, dict) and 'ros__parameters' in value]
    if sections == [WILDCARD_SECTION]:
        return ['depth_node']
    names = [key.rsplit('/', 1)[-1] for key in sections]
    unknown = sorted(set(names) - set(STAGES))
    if unknown or not names:
        raise ValueError(f"'{config}' configures {unknown or 'no node'}: sections must be "
                         f"named after the nodes, e.g. '/**/depth_node', of {sorted(STAGES)}")
    return names


def is_true(value) -> bool:
    """Read a launch-style flag: True, 'true', 'True' or '1'."""
    return str(value).lower() in ('true', '1')


def enabled(name: str, options: Dict[str, object]) -> bool:
    switch = STAGES[name].switch
    return not switch or is_true(options[switch])


def node_setup(name: str, options: Dict[str, object]
               ) -> Tuple[List[Tuple[str, str]], Dict[str, object]]:
    """Remappings and parameter overrides of node ``name`` for these options."""
    stage = STAGES[name]
    remappings = [(topic, str(options[option])) for topic, option in stage.camera_remaps]
    overrides = {'use_sim_time': is_true(options['use_sim_time']),
                 'autostart': is_true(options['autostart'])}
    if stage.model_option and options[stage.model_option]:
        overrides['model_path'] = str(options[stage.model_option])
    return remappings, overrides


def ros_arguments(name: str, config, options: Dict[str, object]) -> List[str]:
    """Return the node's ``--ros-args``: what the launch file gives it, as arguments."""
    remappings, overrides = node_setup(name, options)
    arguments = ['--ros-args', '--params-file', str(config)]
    namespace = str(options['namespace']).strip('/')
    if namespace:
        arguments += ['-r', f'__ns:=/{namespace}']
    for topic, target in remappings:
        arguments += ['-r', f'{topic}:={target}']
    for key, value in overrides.items():
        text = str(value).lower() if isinstance(value, bool) else value
        arguments += ['-p', f'{key}:={text}']
    return arguments
