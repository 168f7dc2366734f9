"""
Imports flow one way, tools -> ros -> inference, and each layer keeps to itself.

Inference knows nothing of ROS nor of the package's ros and tools; ROS plumbing
knows nothing of TensorRT, ONNX Runtime or the tools.
"""
import ast
from pathlib import Path
import subprocess
import sys

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'depth_trt_ros'
ROS_MODULES = ('rclpy', 'sensor_msgs', 'std_msgs', 'diagnostic_msgs', 'vision_msgs',
               'lifecycle_msgs', 'rcl_interfaces', 'visualization_msgs', 'geometry_msgs')
RUNTIMES = ('tensorrt', 'tensorrt_rtx', 'onnxruntime')


def imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


LAYERS = {'inference': ROS_MODULES + ('depth_trt_ros.ros', 'depth_trt_ros.tools'),
          'ros': RUNTIMES + ('depth_trt_ros.tools',)}


def forbidden_import(module: str, forbidden) -> bool:
    return any(module == name or module.startswith(name + '.') for name in forbidden)


@pytest.mark.parametrize('layer', sorted(LAYERS))
def test_layers_keep_to_themselves(layer):
    offences = [f'{path.relative_to(PACKAGE)} imports {module}'
                for path in (PACKAGE / layer).rglob('*.py')
                for module in imported_modules(path)
                if forbidden_import(module, LAYERS[layer])]
    assert not offences, '\n'.join(offences)


def test_every_tool_imports_without_vision_msgs():
    """Only the detector's parts need vision_msgs: the CLI must start without it."""
    child = subprocess.run(
        [sys.executable, '-c', "import sys; sys.modules['vision_msgs'] = None; "
         'from depth_trt_ros.tools.cli import build_parser; build_parser()'],
        capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
