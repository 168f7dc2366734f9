"""
``depth-trt-ros pipeline``: every node of a configuration in one process.

The launch files and this tool share one description of the nodes (which
topics follow the camera, which option overrides the model) and read the
same parameter file, so ``pipeline --config config/depth_yolo.yaml`` runs
what ``ros2 launch depth_trt_ros depth_yolo.launch.py`` starts: same nodes,
parameters, namespace and remaps, here on one executor. Handy
where ``launch`` is not installed; one process also spares image copies.
"""
from dataclasses import dataclass
import importlib
import logging
from pathlib import Path
from typing import Dict, List, Tuple

import yaml

_LOG = logging.getLogger('depth_trt_ros.pipeline')


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


def run(args) -> int:
    from depth_trt_ros.ros.runtime import ros_context, spin

    options = vars(args)
    try:
        names = [n for n in configured_nodes(args.config) if enabled(n, options)]
    except ValueError as error:
        _LOG.error('%s', error)
        return 2
    with ros_context():
        nodes = []
        for name in names:
            stage = STAGES[name]
            node_type = getattr(importlib.import_module(stage.module), stage.node_class)
            node = node_type(name, cli_args=ros_arguments(name, args.config, options),
                             use_global_arguments=False)
            nodes.append(node)
            if node.startup_error is not None:
                _LOG.error('refusing to start: %s: %s', name, node.startup_error)
                for started in nodes:
                    started.destroy_node()
                return 1
        _LOG.info('running %s', ', '.join(node.get_fully_qualified_name() for node in nodes))
        spin(nodes)
    return 0


def register(subparsers):
    parser = subparsers.add_parser(
        'pipeline', help='run the nodes of a configuration in one process',
        description=__doc__.split('\n\n')[1])
    parser.add_argument('--config', type=Path, required=True,
                        help='parameter file: config/depth_yolo.yaml or config/depth.yaml')
    for name, (default, description) in OPTIONS.items():
        parser.add_argument('--' + name.replace('_', '-'), dest=name, default=default,
                            help=f'{description} (default: {default!r})')
    parser.set_defaults(func=run)
