"""
What every node of the package shares as a managed (lifecycle) node.

``/diagnostics`` once a second, ``autostart`` (configure and activate on
start-up so ``ros2 run`` just works), and one way to fail a configure: the
reason is kept, logged, shown as ERROR in diagnostics and, for a process
started with ``autostart``, becomes its exit message.
"""
from typing import Dict

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn

from depth_trt_ros.ros.diagnostics import diagnostic_array, to_status

OK = TransitionCallbackReturn.SUCCESS
FAIL = TransitionCallbackReturn.FAILURE


def destroy_publishers(node, publishers: Dict[str, object]):
    """Destroy every publisher of ``publishers`` (name -> publisher) and forget them."""
    for publisher in publishers.values():
        node.destroy_publisher(publisher)
    publishers.clear()


class ManagedNode(LifecycleNode):
    """A LifecycleNode with diagnostics, autostart and start-up errors; see the module."""

    def __init__(self, node_name: str, **kwargs):
        super().__init__(node_name, **kwargs)
        self.startup_error = None
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._diagnostics_timer = self.create_timer(1.0, self._publish_diagnostics)

    def start_if_autostart(self):
        """Configure and activate now when the ``autostart`` parameter says so."""
        if self.get_parameter('autostart').value:
            self.trigger_configure()
            if self.startup_error is None:
                self.trigger_activate()

    def configure_failed(self, error: Exception) -> TransitionCallbackReturn:
        """Keep and log why configure failed; the message of our errors names the fix."""
        expected = isinstance(error, (ValueError, RuntimeError))
        self.startup_error = str(error) if expected else f'{type(error).__name__}: {error}'
        self.get_logger().error(f'cannot configure: {self.startup_error}')
        return FAIL

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self._stop_input()
        return super().on_deactivate(state)

    def _stop_input(self):
        """Stop taking input; nothing taken before is lost (each node says how)."""
        raise NotImplementedError

    def publish_status(self, task: str, stats, info, warnings):
        """Publish this node's status; a failed configure makes it ERROR."""
        errors = [self.startup_error] if self.startup_error else []
        name = self.get_fully_qualified_name()
        self._diagnostics.publish(diagnostic_array(self.get_clock(), to_status(
            f'{name}: {task}', name, stats, info, warnings, errors)))

    def _publish_diagnostics(self):
        raise NotImplementedError
