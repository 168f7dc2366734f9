"""Docstring conventions (pep257), as in every ROS 2 package."""
from ament_pep257.main import main
import pytest


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257():
    assert main(argv=['.', 'test']) == 0, 'Found code style errors / warnings'
