"""Every parameter of running detector and distance nodes is applied live or refused."""
from diagnostic_msgs.msg import DiagnosticArray
import pytest

from conftest import Collector
from depth_trt_ros.ros.detection_params import DETECTOR_SPECS, DISTANCE_SPECS
from depth_trt_ros.tools.yolo_layout import tiny_yolo_model
from parameter_sweep import set_parameter, sweep

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_every_detector_parameter_is_applied_or_refused(ros, start_node, tmp_path):
    namespace = '/params_detector'
    model = tiny_yolo_model(tmp_path / 'tiny.onnx', ['a', 'b'])
    start_node({'model_path': str(model), 'device': 'cpu'}, namespace,
               module='depth_trt_ros.ros.detector_node')
    node = f'{namespace}/detector_node'
    diagnostics = Collector(ros, DiagnosticArray, '/diagnostics', 100)
    outcomes = sweep(ros, diagnostics, node, DETECTOR_SPECS, {
        'model_path': str(model), 'class_names_file': 'names.yaml', 'classes': 'b, 0',
        'device': 'cpu'})
    assert outcomes['confidence'] == outcomes['classes'] == outcomes['qos'] == 'applied'
    assert outcomes['model_path'] == 'refused'
    unknown = set_parameter(ros, node, 'classes', 'zebra')
    assert not unknown.successful and "'zebra'" in unknown.reason


def test_every_distance_parameter_is_applied_or_refused(ros, start_node):
    namespace = '/params_distance'
    start_node({}, namespace, module='depth_trt_ros.ros.distance_node')
    diagnostics = Collector(ros, DiagnosticArray, '/diagnostics', 100)
    outcomes = sweep(ros, diagnostics, f'{namespace}/distance_node', DISTANCE_SPECS)
    assert outcomes['sync_slop'] == outcomes['central_fraction'] == 'applied'
    assert outcomes['output_qos'] == outcomes['autostart'] == 'refused'
