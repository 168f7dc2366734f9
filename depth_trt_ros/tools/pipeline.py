"""
``depth-trt-ros pipeline``: every node of a configuration in one process.

The launch files and this tool share one description of the nodes (which
topics follow the camera, which option overrides the model) and read the
same parameter file, so ``pipeline --config config/depth_yolo.yaml`` runs
what ``ros2 launch depth_trt_ros depth_yolo.launch.py`` starts: same nodes,
parameters, namespace and remaps, here on one executor. Handy
where ``launch`` is not installed; one process also spares image copies.
"""
import importlib
import logging
from pathlib import Path

from depth_trt_ros.ros.graph import configured_nodes, enabled, OPTIONS, ros_arguments, STAGES

_LOG = logging.getLogger('depth_trt_ros.pipeline')


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
        # A node that gave up (its processing thread stopped) ends the process with 1.
        return 1 if any(node.fatal_error for node in nodes) else 0


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
