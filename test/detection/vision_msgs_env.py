"""
Make ``vision_msgs`` importable for the tests: the real package or the test build.

With a real ROS 2 install the real vision_msgs is used. With the PyPI wheels
it is not available, so scripts/build_test_interfaces.sh generates it from
test/interfaces (see docs/vision_msgs.md) and this module puts it on the paths.
"""
import ctypes
import importlib
import os
from pathlib import Path
import subprocess
import sys
import sysconfig

REPOSITORY = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPOSITORY / 'scripts' / 'build_test_interfaces.sh'


def _prepend(variable: str, value: str):
    current = os.environ.get(variable)
    os.environ[variable] = value + (os.pathsep + current if current else '')


def ensure_vision_msgs() -> str:
    """Import vision_msgs, building the test interfaces first if needed; say which was used."""
    try:
        importlib.import_module('vision_msgs.msg')
        return 'installed vision_msgs'
    except ImportError:
        pass
    result = subprocess.run(['bash', str(BUILD_SCRIPT), '--python', sys.executable],
                            check=True, stdout=subprocess.PIPE, text=True)
    prefix = Path(result.stdout.strip().splitlines()[-1])
    purelib = sysconfig.get_path('purelib', vars={'base': str(prefix),
                                                  'platbase': str(prefix)})
    sys.path.insert(0, purelib)
    # Child processes (nodes under test) read these at start-up.
    _prepend('PYTHONPATH', purelib)
    _prepend('LD_LIBRARY_PATH', str(prefix / 'lib'))
    # This process read LD_LIBRARY_PATH before we changed it; the type support
    # dispatch dlopens the libraries by name, which finds them once loaded.
    for library in sorted((prefix / 'lib').glob('libvision_msgs__*.so')):
        ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
    importlib.import_module('vision_msgs.msg')
    return f'test build of vision_msgs in {prefix}'
