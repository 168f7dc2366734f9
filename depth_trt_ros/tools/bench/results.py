"""``bench ros`` and ``chain`` numbers from what was sent, what arrived and the nodes' counters."""
from typing import Dict, List, Sequence

from depth_trt_ros.tools.bench.monitor import Arrival
from depth_trt_ros.tools.bench.stats import jitter, latency_drift, mean_frame_rate, percentiles

# The nodes' /diagnostics counters (frames_<name>) that the report accounts for.
NODE_COUNTERS = ('received', 'published', 'dropped', 'lost_in_transport', 'skipped', 'bad',
                 'failed')
# Counters of frames a node took in (or never took) and did not pass on.
NOT_PASSED_ON = ('dropped', 'lost_in_transport', 'skipped', 'bad', 'failed')
STAGE_SUFFIX = '_ms_p50'


def counter_deltas(before: Dict[str, str], after: Dict[str, str]) -> Dict[str, int]:
    return {name: int(after.get(f'frames_{name}', 0)) - int(before.get(f'frames_{name}', 0))
            for name in NODE_COUNTERS}


def node_stages(values: Dict[str, str], prefix: str = 'node_') -> Dict[str, Dict[str, float]]:
    """Read a node's own per-stage mean/p50/p95 (last 300 frames) from /diagnostics."""
    stages = [key[:-len(STAGE_SUFFIX)] for key in values if key.endswith(STAGE_SUFFIX)]
    return {f'{prefix}{stage}': {stat: float(values[f'{stage}_ms_{stat}'])
                                 for stat in ('mean', 'p50', 'p95')
                                 if f'{stage}_ms_{stat}' in values}
            for stage in stages}


def arrival_results(arrivals: Sequence[Arrival]) -> Dict[str, object]:
    """Rate, stamp -> receipt latency, jitter and drift of one output's arrivals."""
    unique = {a.sequence: a for a in arrivals}
    ordered = sorted(unique.values(), key=lambda a: a.received_ns)
    receipts_s = [a.received_ns / 1e9 for a in ordered]
    latencies = [(a.received_ns - a.stamp_ns) / 1e6 for a in ordered]
    return {'throughput_fps': mean_frame_rate(receipts_s), 'latency_ms': percentiles(latencies),
            'first_latency_ms': latencies[0] if latencies else None,
            'last_latency_ms': latencies[-1] if latencies else None,
            'latency_drift': latency_drift(latencies), 'jitter_ms': jitter(receipts_s),
            'received': len(unique), 'duplicates': len(arrivals) - len(unique),
            'latencies': latencies}


def hops(sent: Dict, nodes: Dict[str, Dict[str, str]], end_p50: float) -> Dict[str, float]:
    """
    Where the stamp -> receipt latency goes, from medians (which do not add exactly).

    The stamp is set just before ``publish``; each node's ``latency`` is stamp ->
    its own publish done; its stages are its own work on the frame.
    """
    result = {'publish_call_p50': sent.get('publish_call_ms', {}).get('p50', float('nan'))}
    for name, values in nodes.items():
        latency = float(values.get('latency' + STAGE_SUFFIX, 'nan'))
        work = sum(float(values[key]) for key in values
                   if key.endswith(STAGE_SUFFIX) and key != 'latency' + STAGE_SUFFIX)
        result[f'stamp_to_{name}_published_p50'] = latency
        result[f'{name}_work_p50_sum'] = work
        result[f'stamp_to_{name}_work_start_p50'] = latency - work
    result['stamp_to_received_p50'] = end_p50
    return result


def camera_results(sent: Dict, arrivals: Sequence[Arrival], before: Dict[str, str],
                   after: Dict[str, str]) -> Dict[str, object]:
    """Numbers of one camera: its publisher's report, its depth arrivals, its node."""
    output = arrival_results(arrivals)
    node = counter_deltas(before, after)
    frames = {'sent': sent['sent'], 'refused_by_writer': sent['refused'],
              'received': output.pop('received'),
              'node_received': node['received'], 'node_published': node['published'],
              'node_dropped': node['dropped'], 'node_skipped': node['skipped'],
              'node_bad': node['bad'], 'node_failed': node['failed'],
              'node_lost_in_transport': node['lost_in_transport'],
              'input_lost': sent['sent'] - node['received']}
    frames.update(lost=frames['sent'] - frames['received'], duplicates=output.pop('duplicates'))
    # Every frame sent and not received must be explained by a counter of the node; frames
    # it never took are dropped (overwritten in its DDS reader) or lost in transport.
    frames['unaccounted'] = frames['lost'] - sum(node[key] for key in NOT_PASSED_ON)
    return dict(output, topic=sent['topic'], publish_rate_hz=sent['publish_rate_hz'],
                publisher_matched=sent['matched'], frames=frames,
                stages_ms=node_stages(after),
                hops_ms=hops(sent, {'node': after}, output['latency_ms'].get('p50', float('nan'))))


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
            'hops_ms': cameras[0]['hops_ms'], 'cameras': cameras}


def chain_results(sent: Dict, arrivals: Sequence[Arrival], before: Dict[str, Dict],
                  after: Dict[str, Dict]) -> Dict[str, object]:
    """
    One camera's chain: Detection3DArray arrivals, and every node's counters and stages.

    ``before``/``after`` hold the values of ``depth_node``, ``detector_node`` and
    ``distance_node``. A frame reaches the end through the detector and the
    distance node; one whose depth the depth node did not publish arrives
    ``unmatched`` (distances unknown), since the bench pairs exact stamps only.
    """
    output = arrival_results(arrivals)
    latencies = output.pop('latencies')
    nodes = {name: {'frames': counter_deltas(before[name], after[name]),
                    'stages_ms': node_stages(after[name], '')} for name in after}
    detector, distance = nodes['detector_node']['frames'], nodes['distance_node']['frames']
    unmatched = int(after['distance_node'].get('unmatched', 0)) - int(
        before['distance_node'].get('unmatched', 0))
    frames = {'sent': sent['sent'], 'refused_by_writer': sent['refused'],
              'received': output.pop('received'), 'duplicates': output.pop('duplicates'),
              'with_depth': distance['published'] - unmatched, 'unmatched': unmatched}
    frames['lost'] = frames['sent'] - frames['received']
    # A distance node passes on every detection message it takes, bad depth or not.
    frames['unaccounted'] = frames['lost'] - sum(detector[key] for key in NOT_PASSED_ON) - (
        distance['dropped'] + distance['lost_in_transport'])
    share = frames['with_depth'] / distance['published'] if distance['published'] else 0.0
    stages = {f"{name.split('_')[0]}.{stage}": stats
              for name, node in nodes.items() for stage, stats in node['stages_ms'].items()}
    return dict(output, complete_fps=output['throughput_fps'] * share, frames=frames,
                nodes=nodes, stages_ms=stages, latency_samples=len(latencies),
                publish_rate_hz=sent['publish_rate_hz'], publishers_matched=sent['matched'],
                throughput_per_camera_fps=[output['throughput_fps']],
                hops_ms=hops(sent, after, output['latency_ms'].get('p50', float('nan'))))
