"""docs/detection.md lists every parameter of the detection nodes with its default."""
from pathlib import Path
import re

import pytest

from depth_trt_ros.ros.detection_params import DETECTOR_SPECS, DISTANCE_SPECS

DOC = Path(__file__).resolve().parents[2] / 'docs' / 'detection.md'


def documented(node: str):
    section = DOC.read_text().split(f'#### {node}\n', 1)[1].split('\n\n#', 1)[0]
    return dict(re.findall(r'^\| `(\w+)` \| `([^`]*)` \|', section, re.M))


@pytest.mark.parametrize('node, specs', [('detector_node', DETECTOR_SPECS),
                                         ('distance_node', DISTANCE_SPECS)])
def test_parameter_tables_match_the_declarations(node, specs):
    expected = {name: str(spec.default).lower() if isinstance(spec.default, bool)
                else str(spec.default) for name, spec in specs.items()}
    assert documented(node) == expected
