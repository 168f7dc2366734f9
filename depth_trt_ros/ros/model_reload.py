"""
A model change at run time, loaded on its own thread while the running model serves.

``ros2 param set /depth_node model_path ...`` must neither stop frames and
diagnostics while a model loads (seconds, minutes for an engine) nor end the
node whatever the loader raises. So the parameter callback only checks the
value and starts the load here; the new model is swapped in when it is
ready, and if it fails the parameters are set back to the running model's
and the reason is logged and shown in ``/diagnostics`` until the next change.
"""
import threading
import time
from typing import Callable, Dict, List, Optional

from rclpy.parameter import Parameter

from depth_trt_ros.ros import params
from depth_trt_ros.ros.managed_node import describe_error
from depth_trt_ros.ros.topics import depth_topic


def same_depth_type(metric: bool, check: Callable[[bool], None]) -> Callable[[bool], None]:
    """Extend ``check(metric)`` to refuse a model whose depth type differs from ``metric``."""
    def checked(new_metric: bool):
        if new_metric != metric:
            kinds = {True: 'metric', False: 'relative'}
            raise ValueError(f'the new model gives {kinds[new_metric]} depth, the running one '
                             f'{kinds[metric]}: its output goes to another topic '
                             f'({depth_topic(new_metric)}), which the node makes at configure; '
                             'deactivate, clean up, set model_path, configure')
        check(new_metric)
    return checked


class ModelReload:
    """At most one model load in flight for ``node`` (a DepthNode)."""

    def __init__(self, node):
        self._node = node
        self._thread: Optional[threading.Thread] = None
        self._pending: Optional[threading.Thread] = None
        self._started = 0.0
        self._loading = ''
        self._failure: Optional[str] = None

    @property
    def busy(self) -> bool:
        return self._pending is not None or (
            self._thread is not None and self._thread.is_alive())

    def start(self, config, changes: Dict[str, object]) -> Optional[str]:
        """
        Accept loading the model of ``config`` (``changes`` made it); else say why not.

        The load begins in :meth:`launch_pending`, once rclpy has stored the
        new values: a load that fails at once sets them back, and that must
        not be overwritten by the change still being stored.
        """
        if self.busy:
            return (f'rejected: {self._loading} is still loading '
                    f'({time.monotonic() - self._started:.0f} s so far); set it again when '
                    '/diagnostics no longer shows model_reload')
        self._loading = ', '.join(f'{name}={value}' for name, value in changes.items())
        self._failure = None
        self._started = time.monotonic()
        self._pending = threading.Thread(target=self._load, args=(config, changes),
                                         name='model-reload', daemon=True)
        return None

    def launch_pending(self, _stored=None):
        """Post-set-parameters callback: begin the load that :meth:`start` accepted."""
        thread, self._pending = self._pending, None
        if thread is not None:
            self._thread = thread
            thread.start()

    def _load(self, config, changes: Dict[str, object]):
        node = self._node
        running = {name: getattr(node.config, name) for name in changes}
        try:
            node.service.reload(config, node.get_logger().info,
                                same_depth_type(node.service.metric, params.check_outputs(config)))
        except Exception as error:  # noqa: B902 - whatever a loader raises is a refusal
            self._failure = (f'{self._loading} rejected, the running model kept serving: '
                             f'{describe_error(error)}')
            node.get_logger().error(self._failure)
            # Set back, so that the parameters say what runs (no reload: same values).
            node.set_parameters([Parameter(name, value=value)
                                 for name, value in running.items()])
            return
        node.config = params.replace(node.config, changes)
        node.get_logger().info(f'model change applied: {self._loading} '
                               f'({time.monotonic() - self._started:.1f} s)')

    def describe(self) -> Dict[str, str]:
        """Diagnostics keys while a model loads."""
        if not self.busy:
            return {}
        return {'model_reload': f'loading {self._loading} '
                f'({time.monotonic() - self._started:.0f} s); the running model serves'}

    def problems(self) -> List[str]:
        """Return the last failed change, until the next one starts."""
        return [self._failure] if self._failure else []

    def wait(self):
        """Let a load in flight end (before the model is released)."""
        if self._thread is not None:
            self._thread.join()
