"""A model change that fails at once is set back, however long rclpy takes to store it."""
import threading
from types import SimpleNamespace

import pytest

rclpy = pytest.importorskip('rclpy')

from rcl_interfaces.msg import SetParametersResult  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

from depth_trt_ros.ros.model_reload import ModelReload  # noqa: E402

RUNNING = 'random:tiny'


def with_model(config, path):
    return SimpleNamespace(**{**vars(config), 'model_path': path})


class InstantFailureNode(Node):
    """The parts of a DepthNode that ModelReload uses; its loader fails without delay."""

    def __init__(self, context):
        super().__init__('instant_failure', context=context)
        self.declare_parameter('model_path', RUNNING)
        self.config = SimpleNamespace(model_path=RUNNING, publish_depth_mm=False,
                                      publish_points=False)
        self.service = SimpleNamespace(metric=False, reload=self._refuse)
        self.reload = ModelReload(self)
        self.add_on_set_parameters_callback(self._slow_storage)
        self.add_on_set_parameters_callback(self._on_set)
        self.add_post_set_parameters_callback(self.reload.launch_pending)

    @staticmethod
    def _refuse(*_):
        raise OSError('no such model')

    def _slow_storage(self, _changes):
        """Run after _on_set: hold the change back until a load in flight has ended."""
        if threading.current_thread().name != 'model-reload':
            self.reload.wait()
        return SetParametersResult(successful=True)

    def _on_set(self, changes):
        path = changes[0].value
        problem = None
        if path != self.config.model_path:
            problem = self.reload.start(with_model(self.config, path), {'model_path': path})
        return SetParametersResult(successful=problem is None, reason=problem or '')


@pytest.fixture
def node():
    context = rclpy.Context()
    rclpy.init(context=context)
    node = InstantFailureNode(context)
    yield node
    node.destroy_node()
    rclpy.shutdown(context=context)


def test_an_instant_failure_is_set_back_after_the_change_was_stored(node):
    for attempt in range(3):
        assert node.set_parameters([Parameter('model_path', value=f'missing-{attempt}')])[0] \
            .successful
        node.reload.wait()
        assert node.get_parameter('model_path').value == RUNNING, \
            f'attempt {attempt}: the failed model stays in the parameters'
        assert f'missing-{attempt}' in node.reload.problems()[0]


def test_a_second_change_is_refused_while_one_is_accepted_but_not_yet_begun(node):
    node.reload.start(with_model(node.config, 'a'), {'model_path': 'a'})
    assert 'still loading' in node.reload.start(node.config, {'model_path': 'b'})
    node.reload.launch_pending()
    node.reload.wait()
    assert not node.reload.busy
