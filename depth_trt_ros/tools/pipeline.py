"""
``depth-trt-ros pipeline``: every node of a configuration in one process.

The same configuration file as ``launch/depth_yolo.launch.py`` (or
``depth.launch.py``): each ``/**/<node>:`` section with ``ros__parameters``
starts that node, with the namespace, remaps and overrides the launch file
would give it, all on one MultiThreadedExecutor. Handy where ``launch`` is
not installed, and one process avoids copying images between processes.
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
    """A node the pipeline can run, and which of its topics follow the camera."""

    module: str
    node_class: str
    # node topic -> the command-line option (launch argument) it is remapped to
    camera_remaps: Tuple[Tuple[str, str], ...] = ()
    # launch argument / option that overrides the node's model_path
    model_option: str = ''


STAGES: Dict[str, Stage] = {
    'depth_node': Stage('depth_trt_ros.ros.depth_node', 'DepthNode',
                        (('image', 'camera_topic'), ('camera_info', 'camera_info_topic')),
                        'depth_model'),
    'detector_node': Stage('depth_trt_ros.ros.detector_node', 'DetectorNode',
                           (('image', 'camera_topic'),), 'yolo_model'),
    'distance_node': Stage('depth_trt_ros.ros.distance_node', 'DistanceNode'),
}


def configured_nodes(config: Path) -> List[str]:
    """Names of the nodes that ``config`` has parameters for, in file order."""
    try:
        content = yaml.safe_load(Path(config).read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read configuration '{config}': {error}") from error
    names = [key.rsplit('/', 1)[-1] for key, value in content.items()
             if isinstance(value, dict) and 'ros__parameters' in value]
    unknown = sorted(set(names) - set(STAGES))
    if unknown or not names:
        raise ValueError(f"'{config}' configures {unknown or 'no node'}: sections must be "
                         f"named after the nodes {sorted(STAGES)}")
    return names


def ros_arguments(name: str, config: Path, options: Dict[str, str]) -> List[str]:
    """Return the node's ``--ros-args``, as the launch file would pass them."""
    stage = STAGES[name]
    arguments = ['--ros-args', '--params-file', str(config)]
    if options.get('namespace'):
        arguments += ['-r', f"__ns:=/{options['namespace'].strip('/')}"]
    for topic, option in stage.camera_remaps:
        arguments += ['-r', f'{topic}:={options[option]}']
    overrides = {'use_sim_time': options['use_sim_time'], 'autostart': options['autostart']}
    if stage.model_option and options.get(stage.model_option):
        overrides['model_path'] = options[stage.model_option]
    for key, value in overrides.items():
        arguments += ['-p', f'{key}:={value}']
    return arguments


def run(args) -> int:
    from depth_trt_ros.ros.runtime import ros_context, spin

    options = {key: str(value).lower() if isinstance(value, bool) else value
               for key, value in vars(args).items()}
    try:
        names = configured_nodes(args.config)
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
                        help='parameter file, e.g. config/depth_yolo.yaml')
    parser.add_argument('--namespace', default='', help='namespace of all nodes')
    parser.add_argument('--camera-topic', dest='camera_topic', default='/camera/image_raw',
                        help='camera image topic (image is remapped to it)')
    parser.add_argument('--camera-info-topic', dest='camera_info_topic',
                        default='/camera/camera_info', help='camera_info topic')
    parser.add_argument('--depth-model', dest='depth_model', default='',
                        help="depth model_path override (default: the configuration's)")
    parser.add_argument('--yolo-model', dest='yolo_model', default='',
                        help="YOLO model_path override (default: the configuration's)")
    parser.add_argument('--use-sim-time', dest='use_sim_time', action='store_true',
                        help='follow /clock')
    parser.add_argument('--no-autostart', dest='autostart', action='store_false',
                        help='leave the nodes unconfigured for a lifecycle manager')
    parser.set_defaults(func=run)
