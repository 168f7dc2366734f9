"""What a benchmark run writes: the machine, the versions, the numbers, as JSON and a table."""
from datetime import datetime, timezone
from importlib import metadata
import json
import os
from pathlib import Path
import platform
import shlex
import sys
from typing import Dict, List, Optional

import torch

SCHEMA = 'depth_trt_ros.bench/1'
RANDOM_WEIGHTS_NOTE = ('RANDOM WEIGHTS: the real architecture with random weights; timings '
                       'are valid, depth values are not')
# rclpy's major version names the distribution it was released with.
ROS_DISTROS = {'3': 'humble', '4': 'iron', '7': 'jazzy', '9': 'kilted', '10': 'rolling'}


def cpu_name() -> str:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(distribution: str) -> Optional[str]:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def versions() -> Dict[str, Optional[str]]:
    rclpy_version = _version('rclpy') or _version('ros-rclpy')
    distro = os.environ.get('ROS_DISTRO') or (
        ROS_DISTROS.get(rclpy_version.split('.')[0]) if rclpy_version else None)
    return {'python': platform.python_version(), 'torch': torch.__version__,
            'cuda': torch.version.cuda, 'transformers': _version('transformers'),
            'onnxruntime': _version('onnxruntime'), 'rclpy': rclpy_version,
            'ros_distro': distro, 'rmw': os.environ.get('RMW_IMPLEMENTATION',
                                                        'rmw_fastrtps_cpp (default)'),
            'fastdds_builtin_transports': os.environ.get('FASTDDS_BUILTIN_TRANSPORTS')}


def environment() -> Dict[str, object]:
    """Describe the machine, GPU, versions, date and exact command of this run."""
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return {'schema': SCHEMA, 'date': datetime.now(timezone.utc).isoformat(timespec='seconds'),
            # The bench runs only as this CLI subcommand, however the CLI was started.
            'command': shlex.join(['depth-trt-ros'] + sys.argv[1:]),
            'machine': {'cpu': cpu_name(), 'cores': os.cpu_count(),
                        'platform': platform.platform()},
            'gpu': gpu, 'versions': versions()}


def model_note(reference: str) -> str:
    return RANDOM_WEIGHTS_NOTE if reference.startswith('random:') else 'trained weights'


def write_report(report: Dict, path: Optional[str]):
    """Print the table and, when ``path`` is given, write the JSON."""
    print(format_table(report))
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(report, indent=2, sort_keys=True) + '\n')
        print(f'wrote {path}')


def _ms(stats: Dict[str, float], key: str) -> str:
    return f"{stats[key]:9.2f}" if key in stats else f"{'-':>9}"


def format_table(report: Dict) -> str:
    """Per-stage percentiles, then the headline numbers, as fixed-width text."""
    results = report['results']
    lines = [f"== bench {report['mode']}: {report['config']['size']} "
             f"{report['config'].get('model')} ({report['model_note']}) ==",
             f"{'stage (ms)':<22}{'p50':>9}{'p95':>9}{'p99':>9}{'mean':>9}"]
    columns = ('p50', 'p95', 'p99', 'mean')
    for stage, stats in results.get('stages_ms', {}).items():
        lines.append(f'{stage:<22}' + ''.join(_ms(stats, key) for key in columns))
    lines += [f'{name:<34}{value}' for name, value in headline(report)]
    return '\n'.join(lines)


def headline(report: Dict) -> List:
    """(label, value) pairs of the numbers every mode reports."""
    results = report['results']
    rows = [('throughput (FPS)', f"{results['throughput_fps']:.2f}")]
    latency = results.get('latency_ms', {})
    if 'p50' in latency:
        rows.append(('latency p50/p95/p99 (ms)',
                     f"{latency['p50']:.2f} / {latency['p95']:.2f} / {latency['p99']:.2f}"))
    if 'frames' in results:
        frames = results['frames']
        rows.append(('frames sent/received/lost', f"{frames['sent']} / {frames['received']} / "
                     f"{frames['lost']}"))
        if 'node_dropped' in frames:
            rows.append(('node dropped/lost in transport',
                         f"{frames['node_dropped']} / {frames['node_lost_in_transport']}"))
        else:
            rows += chain_rows(results)
        rows.append(('frames unaccounted', str(frames['unaccounted'])))
    if results.get('gpu_memory_peak_mib') is not None:
        rows.append(('GPU memory peak (MiB)', f"{results['gpu_memory_peak_mib']:.0f}"))
    if report['mode'] == 'baseline':
        rows += [(f'{name} FPS (seed is {variant["seed_speedup"]:.2f}x)',
                  f"{variant['throughput_fps']:.2f}")
                 for name, variant in results.get('variants', {}).items()]
        rows.append(('processor, attention', recipe_text(results)))
    baseline = report.get('baseline')
    if baseline:
        rows.append(('baseline FPS (seed recipe)', f"{baseline['throughput_fps']:.2f}"))
        rows.append(('baseline processor, attention', recipe_text(baseline)))
        rows.append(('speed-up vs baseline', f"{report['speedup_vs_baseline']:.2f}x"))
    return rows


def chain_rows(results: Dict) -> List:
    """(label, value) pairs of a chain: frames with their own depth, each node's counters."""
    frames = results['frames']
    rows = [('frames with own depth / unmatched', f"{frames['with_depth']} / "
             f"{frames['unmatched']}"),
            ('complete frames/s (with depth)', f"{results['complete_fps']:.2f}")]
    for name, node in results['nodes'].items():
        counts = node['frames']
        rows.append((f'{name} recv/pub/drop/lost', f"{counts['received']} / "
                     f"{counts['published']} / {counts['dropped']} / "
                     f"{counts['lost_in_transport']}"))
    return rows


def recipe_text(baseline: Dict) -> str:
    """Name the processor class and attention a baseline ran with (older results: recipe)."""
    if 'processor_class' not in baseline:
        return str(baseline.get('recipe', '?'))
    attention = ', '.join(f'{part} {name}' for part, name in baseline['attention'].items())
    return f"{baseline['processor_class']}, {attention}, {baseline['dtype']}"
