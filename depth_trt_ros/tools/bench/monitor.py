"""The receiving end of ``bench ros`` and ``chain``: arrivals and the nodes' /diagnostics."""
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


def split_by_camera(values: Dict[str, str], namespaces: Sequence[str]) -> Dict[str, Dict]:
    """Each camera's (``namespaces``) view of the values of the node serving them all."""
    return {namespace: camera_values(values, namespace.rsplit('/', 1)[-1], len(namespaces))
            for namespace in namespaces}


def camera_values(values: Dict[str, str], label: str, cameras: int) -> Dict[str, str]:
    """One camera's view of a node's diagnostics: ``key[label]`` read as ``key``."""
    if cameras == 1:
        return values
    suffix = f'[{label}]'
    own = {key[:-len(suffix)]: value for key, value in values.items() if key.endswith(suffix)}
    return dict(values, **own)


# The model's kind decides which of the two the depth node publishes.
DEPTH_OUTPUTS = ((METRIC_DEPTH, Image), (RELATIVE_DEPTH, Image))


class Monitor:
    """Subscribes each camera's output (depth of either kind by default) and ``/diagnostics``."""

    def __init__(self, node, namespaces: Sequence[str], node_ids: Sequence[str],
                 outputs: Sequence[Tuple[str, type]] = DEPTH_OUTPUTS):
        """
        Watch cameras ``namespaces`` and the nodes ``node_ids`` (fully qualified names).

        The first node serves every camera (its per-camera counters are split by
        :meth:`diagnostics`); ``outputs`` are the topics under each namespace whose
        messages (starting with a Header) are counted, with their types.
        """
        self._lock = threading.Lock()
        self.arrivals: Dict[str, List[Arrival]] = {ns: [] for ns in namespaces}
        # Every output, warm-up frames included: what tells that a graph has drained.
        self._outputs_received = 0
        self._node_ids = list(node_ids)
        self._statuses: Dict[str, Tuple[float, Dict[str, str]]] = {}
        self._outputs = {ns: [node.create_subscription(msg_type, f'{ns}/{topic}',
                                                       self._on_output(ns),
                                                       stream_qos('reliable', 10), raw=True)
                              for topic, msg_type in outputs]
                         for ns in namespaces}
        node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 50)

    def _on_output(self, namespace: str):
        def record(serialized: bytes):
            received = time.time_ns()
            stamp, frame_id = parse_header(serialized)
            with self._lock:
                self._outputs_received += 1
                if frame_id.isdigit():
                    self.arrivals[namespace].append(Arrival(int(frame_id), stamp, received))
        return record

    def _on_diagnostics(self, msg: DiagnosticArray):
        now = time.monotonic()
        for status in msg.status:
            if status.hardware_id in self._node_ids:
                values = {kv.key: kv.value for kv in status.values}
                with self._lock:
                    self._statuses[status.hardware_id] = (now, values)

    def matched(self) -> bool:
        """Whether each camera's output has a publisher (one of the kinds is enough)."""
        return all(any(s.get_publisher_count() > 0 for s in subscriptions)
                   for subscriptions in self._outputs.values())

    def node_diagnostics(self, since: Optional[float] = None) -> Optional[Dict[str, Dict]]:
        """Latest values per node id, or None while some node has none newer than ``since``."""
        with self._lock:
            entries = dict(self._statuses)
        if len(entries) < len(self._node_ids) or any(
                since is not None and received < since for received, _ in entries.values()):
            return None
        return {node_id: values for node_id, (_, values) in entries.items()}

    def silent_nodes(self) -> List[str]:
        """Return the ids of the watched nodes whose /diagnostics have not arrived yet."""
        with self._lock:
            return [node_id for node_id in self._node_ids if node_id not in self._statuses]

    def serving_node(self) -> str:
        """Return the id of the node that serves every camera (the first one watched)."""
        return self._node_ids[0]

    def output_count(self) -> int:
        """Count the outputs received so far, measured and warm-up frames alike."""
        with self._lock:
            return self._outputs_received
