"""The receiving end of ``bench ros``: depth arrivals and the nodes' /diagnostics."""
import struct
import threading
import time
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import Image

from depth_trt_ros.ros.qos import stream_qos
from depth_trt_ros.ros.topics import METRIC_DEPTH, RELATIVE_DEPTH


class Arrival(NamedTuple):
    """One measured depth frame: its number, header stamp and receipt time (wall, ns)."""

    sequence: int
    stamp_ns: int
    received_ns: int


def parse_header(serialized: bytes) -> Tuple[int, str]:
    """
    (stamp in ns, frame_id) from a serialized message that starts with a Header.

    Reading only the header keeps this process from spending a deserialization
    of the whole depth image per frame, so the measuring end is never the
    bottleneck of what it measures.
    """
    little = serialized[1] & 1  # CDR encapsulation: odd kinds are little-endian
    order = '<' if little else '>'
    sec, nanosec, length = struct.unpack_from(order + 'iII', serialized, 4)
    frame_id = serialized[16:16 + length - 1].decode('utf-8', 'replace')
    return sec * 10**9 + nanosec, frame_id


def camera_values(values: Dict[str, str], label: str, cameras: int) -> Dict[str, str]:
    """One camera's view of a node's diagnostics: ``key[label]`` read as ``key``."""
    if cameras == 1:
        return values
    suffix = f'[{label}]'
    own = {key[:-len(suffix)]: value for key, value in values.items() if key.endswith(suffix)}
    return dict(values, **own)


class Monitor:
    """Subscribes each camera's depth output (either kind) and ``/diagnostics`` on ``node``."""

    def __init__(self, node, namespaces: Sequence[str], node_id: str):
        """Watch cameras ``namespaces`` served by the one depth node ``node_id``."""
        self._lock = threading.Lock()
        self.arrivals: Dict[str, List[Arrival]] = {ns: [] for ns in namespaces}
        self._node_id = node_id
        self._diagnostics: Dict[str, Tuple[float, Dict[str, str]]] = {}
        # The model's kind decides which of the two topics the node publishes.
        self._subscriptions = [
            node.create_subscription(Image, f'{ns}/{topic}', self._on_depth(ns),
                                     stream_qos('reliable', 10), raw=True)
            for ns in namespaces for topic in (METRIC_DEPTH, RELATIVE_DEPTH)]
        self._subscriptions.append(node.create_subscription(
            DiagnosticArray, '/diagnostics', self._on_diagnostics, 50))

    def _on_depth(self, namespace: str):
        def record(serialized: bytes):
            received = time.time_ns()
            stamp, frame_id = parse_header(serialized)
            if frame_id.isdigit():
                with self._lock:
                    self.arrivals[namespace].append(Arrival(int(frame_id), stamp, received))
        return record

    def _on_diagnostics(self, msg: DiagnosticArray):
        for status in msg.status:
            if status.hardware_id == self._node_id:
                values = {kv.key: kv.value for kv in status.values}
                now = time.monotonic()
                with self._lock:
                    for namespace in self.arrivals:
                        self._diagnostics[namespace] = (now, camera_values(
                            values, namespace.rsplit('/', 1)[-1], len(self.arrivals)))

    def matched(self) -> bool:
        return all(s.get_publisher_count() > 0 for s in self._subscriptions[:-1])

    def diagnostics(self, since: Optional[float] = None) -> Optional[Dict[str, Dict]]:
        """Latest values per camera, or None while some camera has none newer than ``since``."""
        with self._lock:
            entries = dict(self._diagnostics)
        if len(entries) < len(self.arrivals) or any(
                since is not None and received < since for received, _ in entries.values()):
            return None
        return {namespace: values for namespace, (_, values) in entries.items()}

    def arrival_count(self) -> int:
        with self._lock:
            return sum(len(a) for a in self.arrivals.values())
