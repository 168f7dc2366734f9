"""Every parameter of a running depth_node is applied live or refused with the reason."""
from diagnostic_msgs.msg import DiagnosticArray
import pytest

from conftest import Collector
from depth_trt_ros.inference.model import load_depth_model
from depth_trt_ros.ros.params import SPECS
from parameter_sweep import sweep

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NAMESPACE = '/params_depth'


def test_every_depth_node_parameter_is_applied_or_refused(ros, start_node, tmp_path):
    # Another model of the same kind (relative): a metric one would be refused, its depth
    # going to another topic (test_lifecycle covers refusals).
    saved = tmp_path / 'tiny'
    load_depth_model('random:tiny').save_pretrained(saved)
    start_node({'model_path': 'random:tiny', 'device': 'cpu', 'input_size': 140},
               NAMESPACE)
    diagnostics = Collector(ros, DiagnosticArray, '/diagnostics', 100)
    # Model changes load on another thread; each is awaited before the next is set.
    outcomes = sweep(ros, diagnostics, f'{NAMESPACE}/depth_node', SPECS, {
        'model_path': str(saved), 'device': 'cpu', 'precision': 'fp32',
        'backend': 'torch', 'input_size': 182, 'image_topics': ['left/image'],
        # Compiling needs CUDA: True is refused at load and set back (test_backends).
        'torch_compile': False})
    assert outcomes['output_qos'] == outcomes['image_topics'] == 'refused'
    assert outcomes['model_path'] == outcomes['colormap'] == outcomes['qos'] == 'applied'
