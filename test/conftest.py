"""Fixtures shared by the tests: a private DDS domain and a small CPU estimator."""
import os

import pytest

# Other engineers run DDS traffic on this machine; our own domain keeps it out.
TEST_DOMAIN_ID = '63'


@pytest.fixture(scope='session')
def ros_domain():
    """Put this process and the node processes it starts on the test domain."""
    previous = os.environ.get('ROS_DOMAIN_ID')
    os.environ['ROS_DOMAIN_ID'] = TEST_DOMAIN_ID
    yield TEST_DOMAIN_ID
    if previous is None:
        del os.environ['ROS_DOMAIN_ID']
    else:
        os.environ['ROS_DOMAIN_ID'] = previous


@pytest.fixture
def ros_context(ros_domain):
    """Initialise rclpy for one test."""
    from depth_trt_ros.ros.runtime import ros_context as context
    with context():
        yield


@pytest.fixture(scope='session')
def tiny_service():
    """random:tiny on the CPU at the smallest input size: real code path, little time."""
    from depth_trt_ros.inference.service import DepthService
    from depth_trt_ros.tools.model_options import EstimatorConfig

    service = DepthService.load(EstimatorConfig(model_path='random:tiny', device='cpu',
                                                input_size=140), lambda _: None)
    yield service
    service.release()
