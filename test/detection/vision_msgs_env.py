"""
Make sure the tests' environment has ``vision_msgs``, as the README's set-up gives it.

scripts/setup_env.sh builds it into the venv (see docs/vision_msgs.md); with a
sourced ROS 2 it is the installed package. A venv made before the set-up did
so gets the same build, in the same place, here.
"""
import importlib
from pathlib import Path
import subprocess
import sys

REPOSITORY = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPOSITORY / 'scripts' / 'build_interfaces.sh'


def ensure_vision_msgs() -> str:
    """Import vision_msgs, building it into this environment first if needed; say where from."""
    try:
        module = importlib.import_module('vision_msgs.msg')
    except ImportError:
        subprocess.run(['bash', str(BUILD_SCRIPT), '--python', sys.executable], check=True)
        importlib.invalidate_caches()
        module = importlib.import_module('vision_msgs.msg')
    return str(Path(module.__file__).parents[1])
