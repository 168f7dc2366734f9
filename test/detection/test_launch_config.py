"""
Launch files, configurations and ``depth-trt-ros pipeline`` describe the same graph.

``launch`` is not installed here, so the launch files are read with ``ast``;
they build everything from the pipeline tool's tables, which are checked
against the configurations and the nodes' declared parameters.
"""
import ast
from pathlib import Path

import pytest
import yaml

from depth_trt_ros.ros.detection_params import DETECTOR_SPECS, DISTANCE_SPECS
from depth_trt_ros.ros.graph import configured_nodes, node_setup, OPTIONS, ros_arguments, STAGES
from depth_trt_ros.ros.params import SPECS

REPO = Path(__file__).resolve().parents[2]
LAUNCH_FILES = {'depth.launch.py': 'depth.yaml', 'depth_yolo.launch.py': 'depth_yolo.yaml'}
DECLARED = {'depth_node': SPECS, 'detector_node': DETECTOR_SPECS,
            'distance_node': DISTANCE_SPECS}


def calls(path: Path, function: str):
    tree = ast.parse(path.read_text())
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, 'id', getattr(node.func, 'attr', None)) == function]


def launch_call(name: str):
    (call,) = calls(REPO / 'launch' / name, 'describe_pipeline')
    config, rviz, *option_names = [ast.literal_eval(arg) for arg in call.args]
    return config, rviz, option_names[0] if option_names else tuple(OPTIONS)


@pytest.mark.parametrize('launch_file', sorted(LAUNCH_FILES))
def test_launch_file_uses_the_configuration_and_declares_what_its_nodes_need(launch_file):
    config, rviz, option_names = launch_call(launch_file)
    assert config == LAUNCH_FILES[launch_file]
    assert (REPO / 'config' / rviz).is_file()
    assert set(option_names) <= set(OPTIONS)
    for name in configured_nodes(REPO / 'config' / config):
        stage = STAGES[name]
        needed = {option for _, option in stage.camera_remaps} | {'use_sim_time', 'autostart'}
        needed |= {stage.model_option, stage.switch} - {''}
        assert needed <= set(option_names), f'{launch_file} misses options of {name}'


def test_every_launch_argument_has_a_description_and_stages_have_conditions():
    shared = REPO / 'depth_trt_ros' / 'ros' / 'launch_actions.py'
    declarations = calls(shared, 'DeclareLaunchArgument')
    assert declarations and all(any(k.arg == 'description' for k in call.keywords)
                                for call in declarations)
    assert all(description for _, description in OPTIONS.values())
    (node,) = [c for c in calls(shared, 'Node') if any(k.arg == 'remappings' for k in c.keywords)]
    keywords = {k.arg for k in node.keywords}
    assert {'namespace', 'remappings', 'parameters', 'condition'} <= keywords
    assert len(calls(shared, 'IfCondition')) == 2      # optional stages and RViz


@pytest.mark.parametrize('config', sorted(set(LAUNCH_FILES.values())))
def test_configured_parameters_are_declared_by_their_nodes(config):
    content = yaml.safe_load((REPO / 'config' / config).read_text())
    setup = (REPO / 'setup.py').read_text()
    for name in configured_nodes(REPO / 'config' / config):
        assert f"'{name} = depth_trt_ros.ros.{name}:main'" in setup, f'{name} has no executable'
        section = content.get(f'/**/{name}', content.get('/**'))
        unknown = set(section['ros__parameters']) - set(DECLARED[name])
        assert not unknown, f'{config}: {name} does not declare {sorted(unknown)}'


def test_pipeline_passes_what_the_launch_files_pass():
    options = dict({name: default for name, (default, _) in OPTIONS.items()},
                   namespace='robot', camera_topic='/cam/image', yolo_model='/m/yolo.onnx')
    for name in STAGES:
        remappings, overrides = node_setup(name, options)
        arguments = ros_arguments(name, 'config.yaml', options)
        pairs = [arguments[i + 1] for i, flag in enumerate(arguments) if flag in ('-r', '-p')]
        expected = [f'{topic}:={target}' for topic, target in remappings]
        expected += [f'{key}:={str(value).lower() if isinstance(value, bool) else value}'
                     for key, value in overrides.items()]
        assert pairs == ['__ns:=/robot'] + expected
    assert node_setup('detector_node', options)[1]['model_path'] == '/m/yolo.onnx'
    assert 'model_path' not in node_setup('depth_node', options)[1]
