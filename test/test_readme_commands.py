"""
Every command the README shows in a ``bash`` block runs, in the README's own environment.

The commands run one after the other, as a reader would type them, with this
venv's ``bin`` first on PATH and no other set-up, in a scratch folder that
holds what the README assumes is at hand (``models/yolo11n.onnx``: a
YOLO-layout stand-in), random-weight models swapped for smaller ones
(SMALLER). A command that cannot run on a CPU-only machine without the hub
is listed in SKIPPED with the reason; a new command is run unless it is
listed there.
"""
import importlib.metadata
import os
from pathlib import Path
import re
import shlex
import subprocess
import sys

import pytest

from depth_trt_ros.tools.yolo_layout import patch_finder_model

pytestmark = [pytest.mark.ros, pytest.mark.slow]
README = Path(__file__).resolve().parents[1] / 'README.md'
# First words of a command -> why it is not run here.
SKIPPED = {
    'depth-trt-ros export --model depth-anything/': 'downloads a hub model and builds an fp16 '
    'TensorRT engine: needs the hub and a GPU (test_engine_build.py builds one from random '
    'weights on the CPU)',
    'ros2 run': 'needs a sourced ROS 2 with the package built by colcon; the wheels have no '
    'ros2 command',
    'depth-trt-ros verify': 'compares an engine on CUDA with a hub model: needs a GPU',
}
# Small arguments for the long-running: the same code path, on a smaller model and input.
SMALLER = {r'random:small(-metric)?': r'random:tiny\1 --input-size 140'}


def readme_commands():
    """Commands of the README's bash blocks, in order, continuation lines joined."""
    blocks = re.findall(r'^```bash\n(.*?)^```', README.read_text(), re.M | re.S)
    commands = []
    for block in blocks:
        for line in block.replace('\\\n', ' ').splitlines():
            command = line.split(' #')[0].strip()
            if command and not command.startswith('#'):
                commands.append(command)
    return commands


def on_jazzy_wheels() -> bool:
    try:
        return importlib.metadata.version('ros-rclpy').startswith('7.')
    except importlib.metadata.PackageNotFoundError:
        return False


def reason_to_skip(command: str):
    return next((why for start, why in SKIPPED.items() if command.startswith(start)), None)


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
    """Make a scratch folder with the YOLO model the README's replay line expects."""
    folder = tmp_path_factory.mktemp('readme')
    (folder / 'models').mkdir()
    patch_finder_model(folder / 'models' / 'yolo11n.onnx')
    return folder


def test_the_readme_has_commands():
    assert len(readme_commands()) >= 5


@pytest.mark.parametrize('command', readme_commands(),
                         ids=lambda command: ' '.join(command.split())[:70])
def test_readme_command_runs(command, workdir):
    if on_jazzy_wheels():
        pytest.skip("the README's environment is .venv-kilted (make demo's); the rest of the "
                    'suite tests these tools on Jazzy')
    why = reason_to_skip(command)
    if why:
        pytest.skip(why)
    for argument, smaller in SMALLER.items():
        command = re.sub(argument, smaller, command)
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep +
               os.environ['PATH'], HOME=str(workdir))
    result = subprocess.run(['bash', '-c', command], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=300)
    assert result.returncode == 0, f'{shlex.quote(command)} failed:\n{result.stdout[-3000:]}'
