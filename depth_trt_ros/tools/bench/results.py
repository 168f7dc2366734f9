"""``bench ros`` numbers from what was sent, what arrived and the nodes' counters."""
from typing import Dict, List, Sequence

from depth_trt_ros.ros.depth_node import STAGES
from depth_trt_ros.tools.bench.monitor import Arrival
from depth_trt_ros.tools.bench.stats import jitter, latency_drift, mean_frame_rate, percentiles

# depth_node's /diagnostics counters (frames_<name>) that the report accounts for.
NODE_COUNTERS = ('received', 'published', 'dropped', 'lost_in_transport', 'skipped', 'bad',
                 'failed')


def counter_deltas(before: Dict[str, str], after: Dict[str, str]) -> Dict[str, int]:
    return {name: int(after.get(f'frames_{name}', 0)) - int(before.get(f'frames_{name}', 0))
            for name in NODE_COUNTERS}


def node_stages(values: Dict[str, str]) -> Dict[str, Dict[str, float]]:
    """Read the node's own per-stage mean/p50/p95 (last 300 frames) from /diagnostics."""
    return {f'node_{stage}': {stat: float(values[f'{stage}_ms_{stat}'])
                              for stat in ('mean', 'p50', 'p95')
                              if f'{stage}_ms_{stat}' in values}
            for stage in STAGES + ('latency',)}


def camera_results(sent: Dict, arrivals: Sequence[Arrival], before: Dict[str, str],
                   after: Dict[str, str]) -> Dict[str, object]:
    """Numbers of one camera: its publisher's report, its depth arrivals, its node."""
    unique = {a.sequence: a for a in arrivals}
    ordered = sorted(unique.values(), key=lambda a: a.received_ns)
    receipts_s = [a.received_ns / 1e9 for a in ordered]
    latencies = [(a.received_ns - a.stamp_ns) / 1e6 for a in ordered]
    node = counter_deltas(before, after)
    frames = {'sent': sent['sent'], 'refused_by_writer': sent['refused'],
              'received': len(unique),
              'lost': sent['sent'] - len(unique), 'duplicates': len(arrivals) - len(unique),
              'node_received': node['received'], 'node_published': node['published'],
              'node_dropped': node['dropped'], 'node_skipped': node['skipped'],
              'node_bad': node['bad'], 'node_failed': node['failed'],
              'node_lost_in_transport': node['lost_in_transport'],
              'input_lost': sent['sent'] - node['received']}
    # Every frame sent and not received must be explained by a counter of the node; frames
    # it never took are dropped (overwritten in its DDS reader) or lost in transport.
    frames['unaccounted'] = frames['lost'] - (node['dropped'] + node['lost_in_transport']
                                              + node['skipped'] + node['bad'] + node['failed'])
    return {'topic': sent['topic'], 'publish_rate_hz': sent['publish_rate_hz'],
            'publisher_matched': sent['matched'],
            'throughput_fps': mean_frame_rate(receipts_s), 'latency_ms': percentiles(latencies),
            'first_latency_ms': latencies[0] if latencies else None,
            'last_latency_ms': latencies[-1] if latencies else None,
            'latency_drift': latency_drift(latencies), 'jitter_ms': jitter(receipts_s),
            'frames': frames, 'stages_ms': node_stages(after), 'latencies': latencies}


def compile_results(namespaces: Sequence[str], sent: List[Dict],
                    arrivals: Dict[str, List[Arrival]], before: Dict[str, Dict],
                    after: Dict[str, Dict]) -> Dict[str, object]:
    """Per-camera numbers and their totals; latency percentiles over all cameras."""
    cameras = [camera_results(report, arrivals[ns], before[ns], after[ns])
               for ns, report in zip(namespaces, sent)]
    latencies = [value for camera in cameras for value in camera.pop('latencies')]
    totals = {key: sum(c['frames'][key] for c in cameras) for key in cameras[0]['frames']}
    throughputs = [c['throughput_fps'] for c in cameras]
    return {'throughput_fps': sum(throughputs),
            'publishers_matched': all(c['publisher_matched'] for c in cameras),
            'throughput_per_camera_fps': throughputs,
            'latency_ms': percentiles(latencies), 'frames': totals,
            'latency_drift': max((c['latency_drift'] for c in cameras),
                                 key=lambda drift: drift['drift_ms']),
            'jitter_ms': cameras[0]['jitter_ms'], 'stages_ms': cameras[0]['stages_ms'],
            'cameras': cameras}
