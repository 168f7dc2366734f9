"""Style is part of the test suite, as in every ROS 2 package."""
import subprocess
import sys

import pytest

# In a process of its own: flake8 forks its workers, and a fork of the test process, whose
# earlier tests leave DDS threads behind, crashed (a segfault in a worker, then a hang).
CHECK = 'import sys; from ament_flake8.main import main; sys.exit(main(argv=[]))'


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8():
    result = subprocess.run([sys.executable, '-c', CHECK], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f'code style errors / warnings:\n{result.stdout[-8000:]}'
