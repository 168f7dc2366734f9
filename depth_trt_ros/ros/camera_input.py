"""
A camera subscription that never fails silently.

It matches the reliability the topic's publishers offer (re-checked as they
come and go), counts frames lost in transport from publication sequence
numbers, reports incompatible QoS with the fix, and can say why nothing
arrives: no publishers, or publishers whose messages do not get through.
"""
import time
from typing import Callable, List, Optional

from rclpy.qos import ReliabilityPolicy

from depth_trt_ros.ros.diagnostics import NodeStats
from depth_trt_ros.ros.qos import choose_input_reliability, stream_qos

try:  # Iron and newer; Humble has the same class in rclpy.qos_event.
    from rclpy.event_handler import SubscriptionEventCallbacks
except ImportError:  # pragma: no cover - Humble
    from rclpy.qos_event import SubscriptionEventCallbacks


def _supports_message_info() -> bool:
    """Tell whether rclpy passes MessageInfo to two-argument callbacks (Iron on, not Humble)."""
    from rclpy.subscription import Subscription
    return hasattr(Subscription, 'CallbackType')


class CameraInput:
    """Subscribe ``topic`` and hand every message to ``on_message``."""

    def __init__(self, node, msg_type, topic: str, on_message: Callable, stats: NodeStats,
                 reliability: str, depth: int, recheck_s: float = 1.0,
                 channel: Optional[str] = None, raw: bool = False):
        self._node = node
        self._msg_type = msg_type
        self._topic = topic
        self._on_message = on_message
        self._stats = stats
        self._setting = reliability
        self._depth = depth
        self._recheck_s = recheck_s
        self._channel = channel
        # raw: hand over serialized bytes, so frames that are never processed cost no
        # Python deserialisation (the receiver deserialises the ones it takes).
        self._raw = raw
        self._subscription = None
        self._timer = None
        self.first_sequence: Optional[int] = None
        self.last_sequence: Optional[int] = None
        self.reliability: Optional[str] = None
        self.started_at = time.monotonic()
        self.last_received: Optional[float] = None
        self.qos_problem: Optional[str] = None

    @property
    def topic(self) -> str:
        return self._node.resolve_topic_name(self._topic)

    def start(self):
        self.started_at = time.monotonic()
        self._subscribe()
        self._timer = self._node.create_timer(self._recheck_s, self._recheck)

    def stop(self):
        if self._timer is not None:
            self._node.destroy_timer(self._timer)
            self._timer = None
        if self._subscription is not None:
            self._node.destroy_subscription(self._subscription)
            self._subscription = None

    def set_reliability(self, setting: str):
        self._setting = setting
        if self._subscription is not None:
            self._recheck(force=True)

    def _publishers(self) -> List:
        return self._node.get_publishers_info_by_topic(self.topic)

    def _subscribe(self):
        self.reliability = choose_input_reliability(self._setting, self._publishers())
        events = SubscriptionEventCallbacks(incompatible_qos=self._on_incompatible_qos)
        callback = self._with_info if _supports_message_info() else self._without_info
        self.first_sequence = self.last_sequence = None
        self._subscription = self._node.create_subscription(
            self._msg_type, self._topic, callback,
            stream_qos(self.reliability, self._depth), event_callbacks=events, raw=self._raw)
        self._node.get_logger().info(
            f'subscribed {self.topic} ({self._msg_type.__name__}, {self.reliability}, '
            f'qos={self._setting})')

    def _recheck(self, force: bool = False):
        wanted = choose_input_reliability(self._setting, self._publishers())
        if force or wanted != self.reliability:
            self._node.destroy_subscription(self._subscription)
            self.qos_problem = None
            self._subscribe()

    def _with_info(self, msg, info):
        sequence = info.get('publication_sequence_number') if info else None
        # Sequence numbers are per writer: gaps are meaningful only with one publisher.
        if sequence and self._node.count_publishers(self.topic) == 1:
            if self.last_sequence is None:
                self.first_sequence = sequence
            elif sequence > self.last_sequence + 1:
                self._stats.count('lost_in_transport', sequence - self.last_sequence - 1,
                                  self._channel)
            self.last_sequence = sequence
        self._without_info(msg)

    def _without_info(self, msg):
        self.last_received = time.monotonic()
        self._stats.received(self._channel)
        self._on_message(msg)

    def _on_incompatible_qos(self, event):
        self._stats.count('incompatible_qos')
        if self.qos_problem is None:
            offered = 'best-effort' if self.reliability == 'reliable' else 'reliable'
            self.qos_problem = (
                f'incompatible QoS on {self.topic}: this node requests {self.reliability}, '
                f'a publisher offers {offered} (policy {event.last_policy_kind}); set '
                "parameter qos to 'auto' or 'best_effort'")
            self._node.get_logger().warning(self.qos_problem)

    def problems(self, timeout_s: float) -> List[str]:
        """Everything diagnostics should warn about this input: QoS mismatch, silence."""
        return [reason for reason in (self.qos_problem, self.silence_reason(timeout_s))
                if reason]

    def silence_reason(self, timeout_s: float) -> Optional[str]:
        """Why no frame arrived for ``timeout_s`` seconds, or None while frames flow."""
        since = time.monotonic() - (self.last_received or self.started_at)
        if since < timeout_s:
            return None
        publishers = self._publishers()
        if not publishers:
            return (f'no input for {since:.0f} s: no publishers on {self.topic} '
                    '(check the camera driver, namespace and remaps)')
        offered = sorted({'reliable' if p.qos_profile.reliability == ReliabilityPolicy.RELIABLE
                          else 'best_effort' for p in publishers})
        return (f'no input for {since:.0f} s: {len(publishers)} publisher(s) on {self.topic} '
                f"offer {'/'.join(offered)}, this node subscribes {self.reliability}, but no "
                'message arrives (large images over best-effort DDS are lost: use qos '
                "'reliable' on both ends or FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA everywhere)")
