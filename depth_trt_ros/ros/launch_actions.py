"""
Launch descriptions for launch/*.launch.py, built from the node table of :mod:`graph`.

``depth-trt-ros pipeline`` and the launch files read the same parameter file
and the same node table (:mod:`depth_trt_ros.ros.graph`), so one
configuration gives the same nodes, parameters, namespace and remaps either way.
Only imported by launch files: it needs ROS 2 ``launch`` and ``launch_ros``.
"""
from typing import Sequence

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from depth_trt_ros.ros.graph import configured_nodes, node_setup, OPTIONS, STAGES

PACKAGE = 'depth_trt_ros'


def _pipeline_nodes(context, option_names: Sequence[str]):
    """Nodes of the configuration file, resolved now that the arguments are known."""
    options = {name: default for name, (default, _) in OPTIONS.items()}
    options.update({name: LaunchConfiguration(name).perform(context) for name in option_names})
    config = LaunchConfiguration('config').perform(context)
    nodes = []
    for name in configured_nodes(config):
        remappings, overrides = node_setup(name, options)
        switch = STAGES[name].switch
        nodes.append(Node(
            package=PACKAGE, executable=name, name=name, namespace=options['namespace'],
            parameters=[config, overrides], remappings=remappings, output='screen',
            emulate_tty=True,
            # A node that gives up (its processing thread stopped) exits 1: start it again.
            respawn=True, respawn_delay=2.0,
            condition=IfCondition(LaunchConfiguration(switch)) if switch else None))
    return nodes


def describe_pipeline(config_file: str, rviz_file: str,
                      option_names: Sequence[str] = tuple(OPTIONS)) -> LaunchDescription:
    """Declare the arguments, start the configured nodes and, if asked, RViz."""
    share = FindPackageShare(PACKAGE)
    arguments = [
        DeclareLaunchArgument('config', default_value=PathJoinSubstitution(
            [share, 'config', config_file]), description='Parameter file of the nodes'),
        DeclareLaunchArgument('rviz', default_value='false', description='Start RViz'),
        DeclareLaunchArgument('rviz_config', default_value=PathJoinSubstitution(
            [share, 'config', rviz_file]), description='RViz configuration'),
    ]
    arguments += [DeclareLaunchArgument(name, default_value=OPTIONS[name][0],
                                        description=OPTIONS[name][1])
                  for name in option_names]
    rviz = Node(package='rviz2', executable='rviz2', name='rviz2',
                arguments=['-d', LaunchConfiguration('rviz_config')],
                parameters=[{'use_sim_time': LaunchConfiguration('use_sim_time')}],
                condition=IfCondition(LaunchConfiguration('rviz')))
    return LaunchDescription(arguments + [
        OpaqueFunction(function=_pipeline_nodes, args=[tuple(option_names)]), rviz])
