"""
What every node of the package shares as a managed (lifecycle) node.

``/diagnostics`` once a second, ``autostart`` (configure and activate on
start-up so ``ros2 run`` just works), and one way to fail a configure: the
reason is kept, logged, shown as ERROR in diagnostics and, for a process
started with ``autostart``, becomes its exit message.

One parameter discipline (the Specs of :mod:`params` say which applies): a
change on a configured node is applied live by the node's
``apply_parameters``, or refused with the reason; never accepted and ignored.
Diagnostics show the values the node works with (``parameters``).

And fault containment: no callback may end the executor. Messages are taken
serialized and checked before they are deserialized (see :mod:`wire`), what a
callback raises is counted and logged (throttled, attacker text cut short),
and a node whose processing thread stops anyway says ERROR and ends its
process with status 1 (:func:`fail`), so a launch ``respawn`` can act.
"""
from typing import Callable, Dict, Iterable, Optional

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.duration import Duration
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn

from depth_trt_ros.ros.diagnostics import diagnostic_array, NodeStats, to_status
from depth_trt_ros.ros.params import check_value, declare_all, Spec
from depth_trt_ros.ros.wire import deserialize_checked, MalformedMessage, quote

OK = TransitionCallbackReturn.SUCCESS
FAIL = TransitionCallbackReturn.FAILURE
THROTTLE_S = 5.0


def destroy_publishers(node, publishers: Dict[str, object]):
    """Destroy every publisher of ``publishers`` (name -> publisher) and forget them."""
    for publisher in publishers.values():
        node.destroy_publisher(publisher)
    publishers.clear()


def describe_error(error: Exception) -> str:
    """One line about ``error``: its type and its (possibly attacker-made) text, cut short."""
    return f'{type(error).__name__}: {quote(str(error), 200)}'


class ManagedNode(LifecycleNode):
    """A LifecycleNode with diagnostics, autostart, start-up errors and fault containment."""

    def __init__(self, node_name: str, stages: Iterable[str], **kwargs):
        super().__init__(node_name, **kwargs)
        self.stats = NodeStats(stages)
        self.startup_error = None
        self.fatal_error: Optional[str] = None
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._diagnostics_timer = self.create_timer(
            1.0, self.contained(self._publish_diagnostics, 'diagnostics'))

    # parameters ----------------------------------------------------------------
    def declare_specs(self, specs: Dict[str, Spec]):
        """Declare the node's parameters and apply the one discipline to their changes."""
        declare_all(self, specs)
        self._specs = specs
        self.on_set_parameters_checked(self._on_set_parameters)

    @property
    def configured(self) -> bool:
        """Whether parameters were read (configure ran and no cleanup since)."""
        raise NotImplementedError

    def _on_set_parameters(self, changes) -> SetParametersResult:
        configured = self.configured
        for change in changes:
            problem = check_value(change.name, change.value, self._specs, configured)
            if problem:
                return SetParametersResult(successful=False, reason=problem)
        if not configured:
            return SetParametersResult(successful=True)
        try:
            problem = self.apply_parameters({change.name: change.value for change in changes})
        except ValueError as error:  # the node's own check of a value, naming the fix
            problem = str(error)
        return SetParametersResult(successful=not problem, reason=problem or '')

    def apply_parameters(self, updated: Dict[str, object]) -> Optional[str]:
        """Apply changes that passed the Specs' checks; return why not, or None."""
        raise NotImplementedError

    def changes_input(self, updated: Dict[str, object]) -> bool:
        """Whether ``updated`` holds a parameter whose change re-makes the subscriptions."""
        return any(self._specs[name].restarts_input for name in updated if name in self._specs)

    def effective_parameters(self) -> Dict[str, object]:
        """Return the values the node works with now (its configuration), for diagnostics."""
        return {}

    # lifecycle and diagnostics ------------------------------------------------
    def start_if_autostart(self):
        """Configure and activate now when the ``autostart`` parameter says so."""
        if self.get_parameter('autostart').value:
            self.trigger_configure()
            if self.startup_error is None:
                self.trigger_activate()

    def configure_failed(self, error: Exception) -> TransitionCallbackReturn:
        """Keep and log why configure failed; the message of our errors names the fix."""
        expected = isinstance(error, (ValueError, RuntimeError))
        self.startup_error = str(error) if expected else describe_error(error)
        self.get_logger().error(f'cannot configure: {self.startup_error}')
        return FAIL

    # fault containment --------------------------------------------------------
    def contain(self, error: Exception, what: str):
        """Count and log (throttled) an exception that ``what`` did not expect."""
        self.stats.count('contained_errors')
        self.get_logger().error(f'{what} failed and was skipped: {describe_error(error)}',
                                throttle_duration_sec=THROTTLE_S)

    def contained(self, callback: Callable[[], None], what: str) -> Callable[[], None]:
        """Wrap ``callback`` (no arguments, as timers call it) so it cannot end the executor."""
        def run():
            try:
                callback()
            except Exception as error:  # noqa: B902 - see contain
                self.contain(error, what)
        return run

    def count_malformed(self, error: MalformedMessage, topic: str,
                        channel: Optional[str] = None, side_input: Optional[str] = None):
        """
        Count a message refused by :mod:`wire` and warn (throttled).

        A camera frame counts as a bad frame; a message of a ``side_input``
        (camera_info) only under its own reason, ``<side_input>_<category>``.
        """
        if side_input:
            self.stats.bad(f'{side_input}_{error.category}', frame=False)
        else:
            self.stats.bad(error.category, channel)
        self.get_logger().warning(f'malformed message on {topic} skipped ({error.category}): '
                                  f'{error}', throttle_duration_sec=THROTTLE_S)

    def subscribe_checked(self, msg_type, topic: str, callback: Callable, qos,
                          label: str = 'camera_info'):
        """
        Subscribe ``topic`` serialized: ``callback`` gets only messages that passed the check.

        For the small side inputs (camera_info); camera frames go through
        :class:`~depth_trt_ros.ros.camera_input.CameraInput`.
        """
        def on_bytes(data: bytes):
            try:
                msg = deserialize_checked(data, msg_type)
            except MalformedMessage as error:
                self.count_malformed(error, topic, side_input=label)
                return
            try:
                callback(msg)
            except Exception as error:  # noqa: B902 - see contain
                self.contain(error, f'{topic} callback')
        return self.create_subscription(msg_type, topic, on_bytes, qos, raw=True)

    def on_set_parameters_checked(self, callback: Callable):
        """Register a set-parameters callback whose unexpected errors reject the change."""
        def run(changes) -> SetParametersResult:
            try:
                return callback(changes)
            except Exception as error:  # noqa: B902 - a refusal, never a dead executor
                self.contain(error, 'parameter change')
                return SetParametersResult(successful=False,
                                           reason=f'rejected: {describe_error(error)}')
        self.add_on_set_parameters_callback(run)

    def fail(self, reason: str):
        """
        Give up: say ERROR with ``reason`` and end the process (status 1), from any thread.

        For a processing thread that stopped: a node that idles while it
        reports ``active`` would hide the fault from its supervisor.
        """
        self.fatal_error = reason
        self.get_logger().fatal(f'{reason}: exiting so that a supervisor (launch respawn) can '
                                'restart the node')
        try:
            self._publish_diagnostics()
            # The ERROR must reach the supervisor before the process (and its writer) is gone.
            self._diagnostics.wait_for_all_acked(Duration(seconds=2))
        finally:
            self.context.try_shutdown()

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self._stop_input()
        return super().on_deactivate(state)

    def _stop_input(self):
        """Stop taking input; nothing taken before is lost (each node says how)."""
        raise NotImplementedError

    def publish_status(self, task: str, info, warnings):
        """Publish this node's status; a failed configure or a fatal error makes it ERROR."""
        errors = [e for e in (self.fatal_error, self.startup_error) if e]
        name = self.get_fully_qualified_name()
        parameters = self.effective_parameters()
        if parameters:
            info = dict(info, parameters='; '.join(f'{k}={v}' for k, v in parameters.items()))
        self._diagnostics.publish(diagnostic_array(self.get_clock(), to_status(
            f'{name}: {task}', name, self.stats, info, warnings, errors)))

    def _publish_diagnostics(self):
        raise NotImplementedError
