"""The README and config/depth.yaml stay true to the parameters the node declares."""
from pathlib import Path
import re

import yaml

from depth_trt_ros.ros.params import SPECS

REPO = Path(__file__).resolve().parents[1]


def readme_parameters():
    rows = re.findall(r'^\| `(\w+)` \| `([^`]*)` \|', (REPO / 'README.md').read_text(), re.M)
    return dict(rows)


def test_every_parameter_is_documented_with_its_default():
    documented = readme_parameters()
    for name, spec in SPECS.items():
        assert name in documented, f'{name} missing from the README parameter table'
        default = str(spec.default).lower() if isinstance(spec.default, bool) \
            else str(spec.default)
        assert documented[name] == default, name


def test_config_file_holds_the_declared_defaults():
    config = yaml.safe_load((REPO / 'config' / 'depth.yaml').read_text())
    values = config['/**']['ros__parameters']
    assert values == {name: spec.default for name, spec in SPECS.items()}


def test_ci_runs_the_readme_test_command():
    assert 'make test' in (REPO / 'README.md').read_text()
    assert (REPO / '.ci' / 'run').read_text().strip().endswith('make test')
