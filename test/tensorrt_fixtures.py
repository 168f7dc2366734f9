"""
Fixtures for the TensorRT tests: one random:tiny ONNX and one engine per session.

Exporting costs most of these tests' time, so every test that needs a file
shares them; they go through the ``export`` tool, which tests it too. Test
modules load this file with ``pytest_plugins`` (a module of its own, so it
stays apart from the package's conftest).
"""
import pytest

from depth_trt_ros.inference import tensorrt_runtime
from depth_trt_ros.tools import cli

CAMERAS = ('640x480', '1280x720')


def _camera_args():
    return [arg for camera in CAMERAS for arg in ('--camera', camera)]


@pytest.fixture(scope='session')
def cameras():
    """Return the camera resolutions the shared engine is built for."""
    return CAMERAS


@pytest.fixture(scope='session')
def exported_tiny_onnx(tmp_path_factory):
    """Export ``random:tiny`` to fp32 ONNX with ``depth-trt-ros export --onnx-only``."""
    directory = tmp_path_factory.mktemp('onnx')
    status = cli.main(['export', '--model', 'random:tiny', '--output-dir', str(directory),
                       '--onnx-only', *_camera_args()])
    assert status == 0
    return directory / 'random-tiny.onnx'


@pytest.fixture(scope='session')
def tiny_engine(exported_tiny_onnx, tmp_path_factory):
    """Build a real fp32 engine from the ONNX with whichever TensorRT is importable."""
    if tensorrt_runtime.trt is None:
        pytest.skip('no TensorRT Python module (tensorrt or tensorrt_rtx) is importable: '
                    'pip install tensorrt-rtx-cu13 builds engines without a GPU')
    directory = tmp_path_factory.mktemp('engine')
    status = cli.main(['export', '--model', str(exported_tiny_onnx),
                       '--output-dir', str(directory),
                       '--precision', 'fp32', '--max-batch', '2', *_camera_args()])
    assert status == 0
    return directory / 'random-tiny_fp32.engine'
