"""
A camera subscription that never fails silently.

It matches the reliability the topic's publishers offer (re-checked as they
come and go), reports incompatible QoS with the fix, and can say why nothing
arrives: no publishers, or publishers whose messages do not get through.

Every frame is accounted for. DDS reports frames that never arrived
(message-lost events: ``lost_in_transport``); a gap in the publication
sequence numbers of taken frames that DDS did not report as lost is frames
that arrived but were overwritten in the reader's history by newer ones
(``dropped``: the node was busy).

A gated input takes one frame, then leaves the next ones in the DDS reader
until its owner calls ``resume``: the reader's keep-last history overwrites
them in C++, so frames a busy node would drop anyway cost no Python work,
however fast they come.

Messages are taken serialized. Without ``decode`` the owner gets the bytes
(the depth node deserialises only the frames it processes); with it, the
owner gets ``decode(bytes)``, and a :class:`~depth_trt_ros.ros.wire.MalformedMessage`
is counted as a bad frame instead. Nothing the owner's callback raises leaves
this class: it goes to the node's ``contain``.
"""
import time
from typing import Callable, List, Optional

from rclpy.callback_groups import CallbackGroup
from rclpy.qos import ReliabilityPolicy

from depth_trt_ros.ros.diagnostics import NodeStats
from depth_trt_ros.ros.qos import choose_input_reliability, stream_qos
from depth_trt_ros.ros.wire import MalformedMessage

try:  # Iron and newer; Humble has the same class in rclpy.qos_event.
    from rclpy.event_handler import SubscriptionEventCallbacks
except ImportError:  # pragma: no cover - Humble
    from rclpy.qos_event import SubscriptionEventCallbacks


def _supports_message_info() -> bool:
    """Tell whether rclpy passes MessageInfo to two-argument callbacks (Iron on, not Humble)."""
    from rclpy.subscription import Subscription
    return hasattr(Subscription, 'CallbackType')


class FrameGate(CallbackGroup):
    """A callback group whose subscription is waited on (and taken from) only while open."""

    def __init__(self):
        super().__init__()
        self.is_open = True

    def can_execute(self, entity) -> bool:
        return self.is_open

    def beginning_execution(self, entity) -> bool:
        return self.is_open

    def ending_execution(self, entity):
        """Nothing to release: the gate is opened by the input's owner."""


class CameraInput:
    """Subscribe ``topic`` and hand messages to ``on_message`` (one at a time if ``gated``)."""

    def __init__(self, node, msg_type, topic: str, on_message: Callable, stats: NodeStats,
                 reliability: str, depth: int, recheck_s: float = 1.0,
                 channel: Optional[str] = None, decode: Optional[Callable] = None,
                 gated: bool = False):
        self._node = node
        self._msg_type = msg_type
        self._topic = topic
        self._on_message = on_message
        self._stats = stats
        self._setting = reliability
        self._depth = depth
        self._recheck_s = recheck_s
        self._channel = channel
        self._decode = decode
        self._gate = FrameGate() if gated else None
        self._subscription = None
        self._timer = None
        self.first_sequence: Optional[int] = None
        self.last_sequence: Optional[int] = None
        self.reliability: Optional[str] = None
        self.started_at = time.monotonic()
        self.last_received: Optional[float] = None
        self.qos_problem: Optional[str] = None
        self._single_writer = False
        self._gaps = self._lost = self._dropped = 0

    @property
    def topic(self) -> str:
        return self._node.resolve_topic_name(self._topic)

    def start(self):
        self.started_at = time.monotonic()
        self._subscribe()
        self._timer = self._node.create_timer(
            self._recheck_s, self._node.contained(self._recheck, f'QoS check of {self._topic}'))

    def stop(self):
        if self._timer is not None:
            self._node.destroy_timer(self._timer)
            self._timer = None
        if self._subscription is not None:
            self._node.destroy_subscription(self._subscription)
            self._subscription = None

    def resume(self):
        """Let a gated input take its next frame (the newest the reader holds)."""
        if self._gate is not None and not self._gate.is_open:
            self._gate.is_open = True
            executor = self._node.executor
            if executor is not None:
                # The executor left this subscription out of its wait set: make it look again.
                executor.wake()

    def set_reliability(self, setting: str):
        self._setting = setting
        if self._subscription is not None:
            self._recheck(force=True)

    def _publishers(self) -> List:
        return self._node.get_publishers_info_by_topic(self.topic)

    def _subscribe(self):
        publishers = self._publishers()
        self.reliability = choose_input_reliability(self._setting, publishers)
        self._single_writer = len(publishers) == 1
        events = SubscriptionEventCallbacks(incompatible_qos=self._on_incompatible_qos,
                                            message_lost=self._on_message_lost)
        callback = self._with_info if _supports_message_info() else self._without_info
        self.first_sequence = self.last_sequence = None
        self._gaps = self._lost = self._dropped = 0
        if self._gate is not None:
            self._gate.is_open = True
        self._subscription = self._node.create_subscription(
            self._msg_type, self._topic, callback,
            stream_qos(self.reliability, self._depth), event_callbacks=events, raw=True,
            callback_group=self._gate)
        self._node.get_logger().info(
            f'subscribed {self.topic} ({self._msg_type.__name__}, {self.reliability}, '
            f'qos={self._setting})')

    def _recheck(self, force: bool = False):
        publishers = self._publishers()
        # Sequence numbers are per writer: gaps are meaningful only with one publisher.
        self._single_writer = len(publishers) == 1
        wanted = choose_input_reliability(self._setting, publishers)
        if force or wanted != self.reliability:
            self._node.destroy_subscription(self._subscription)
            self.qos_problem = None
            self._subscribe()

    def _with_info(self, msg, info):
        sequence = info.get('publication_sequence_number') if info else None
        if sequence:
            if self.last_sequence is None:
                self.first_sequence = sequence
                # A camera that appeared after this subscription (and before the periodic
                # re-check) must be counted from its first frame on.
                self._single_writer = len(self._publishers()) == 1
            elif self._single_writer and sequence > self.last_sequence + 1:
                self._gaps += sequence - self.last_sequence - 1
                self._count_overwritten()
            self.last_sequence = sequence
        self._without_info(msg)

    def _without_info(self, data: bytes):
        self.last_received = time.monotonic()
        self._stats.received(self._channel)
        try:
            msg = data if self._decode is None else self._decode(data)
        except MalformedMessage as error:
            self._node.count_malformed(error, self.topic, self._channel)
            return
        try:
            if self._gate is not None:
                self._gate.is_open = False
            self._on_message(msg)
        except Exception as error:  # noqa: B902 - nothing may end the executor
            if self._gate is not None:
                self._gate.is_open = True
            self._node.contain(error, f'message on {self.topic}')

    def _on_message_lost(self, event):
        self._stats.count('lost_in_transport', event.total_count_change, self._channel)
        self._lost += event.total_count_change
        self._count_overwritten()

    def _count_overwritten(self):
        """Count as dropped the sequence gaps that DDS does not report as lost."""
        # A loss may be reported after its gap was seen: then a drop counted too early is
        # taken back, so the totals always add up once events have arrived.
        overwritten = max(0, self._gaps - self._lost)
        if overwritten != self._dropped:
            self._stats.count('dropped', overwritten - self._dropped, self._channel)
            self._dropped = overwritten

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
