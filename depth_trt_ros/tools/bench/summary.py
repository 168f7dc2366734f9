"""
``bench summary``: one table over a folder of results, and the targets checked.

The targets (issue 4), for the frame size given (640x480 by default):

- ros flat-out throughput >= 5x the baseline's;
- ros flat-out throughput >= 0.85x model mode's (stages all, batch 1, same backend,
  precision and CUDA-graph setting);
- at 30 Hz, latency p99 <= 2x p50;
- at 120 Hz no queue growth: latency drift (median of the last third minus the
  first third) <= max(20 % of p50, 2 ms), and every lost frame counted by the node.

And those of issue 17:

- at 30 Hz, camera stamp -> depth received latency p50 <= 5 ms;
- the chain (depth + YOLO + distances, one camera, nodes in separate processes), its
  best run (flat out or at an offered rate): >= 200 frames/s with distances from their
  own depth, and >= 0.6x the best depth-only ros run (one camera) of the same folder;
  every frame of every chain run accounted for;
- 4 cameras flat out into one depth node: >= 600 frames/s together.
"""
import json
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

SUMMARY_FILE = 'summary.json'
COLUMNS = (('run', 40), ('mode', 9), ('size', 9), ('batch', 5), ('graph', 5), ('rate', 5),
           ('cams', 4), ('FPS', 8), ('FPS/cam', 8), ('p50 ms', 8), ('p99 ms', 8),
           ('sent/recv/lost', 16), ('x base', 7))


def register(modes):
    parser = modes.add_parser('summary', help='table of a folder of results, targets checked')
    parser.add_argument('folder', help='folder of bench JSON files')
    parser.add_argument('--size', default='640x480', help='frame size the targets apply to')
    parser.set_defaults(func=run)


def load_reports(folder: Path) -> Dict[str, Dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob('*.json'))
            if path.name != SUMMARY_FILE}


def rate_text(rate: float) -> str:
    return f'{rate:g}' if rate else 'max'


def row(name: str, report: Dict) -> List[str]:
    config, results = report['config'], report['results']
    frames = results.get('frames')
    latency = results.get('latency_ms', {})
    ros = report['mode'] in ('ros', 'chain')
    mode = 'chain/1p' if config.get('in_process') else report['mode']
    return [name, mode, config['size'],
            str(config.get('batch', 1)) if report['mode'] == 'model' else '-',
            graph_text(config) if report['mode'] != 'baseline' else 'off',
            rate_text(config['rate']) if ros else '-',
            str(config['cameras']) if ros else '-', f"{results['throughput_fps']:.1f}",
            f"{min(results['throughput_per_camera_fps']):.1f}" if ros else '-',
            f"{latency.get('p50', float('nan')):.2f}", f"{latency.get('p99', float('nan')):.2f}",
            f"{frames['sent']}/{frames['received']}/{frames['lost']}" if frames else '-',
            f"{report['speedup_vs_baseline']:.2f}" if 'speedup_vs_baseline' in report else '-']


def graph_text(config: Dict) -> str:
    """'on', 'off', or 'comp' where the model was also compiled (--torch-compile)."""
    if not config.get('cuda_graph'):
        return 'off'
    return 'comp' if config.get('torch_compile') else 'on'


def format_rows(rows: List[List[str]]) -> str:
    header = ''.join(f'{title:>{width}} ' for title, width in COLUMNS)
    return '\n'.join([header] + [''.join(f'{cell:>{width}} ' for cell, (_, width)
                                         in zip(cells, COLUMNS)) for cells in rows])


def arrival_lines(reports: Dict[str, Dict]) -> List[str]:
    """List, per ros run, how many of the frames sent arrived (the "large images" table)."""
    lines = []
    for name, report in reports.items():
        if report['mode'] == 'ros':
            config, frames = report['config'], report['results']['frames']
            share = frames['received'] / frames['sent'] if frames['sent'] else 0.0
            lines.append(f"  {report['versions']['ros_distro'] or '?':<8}{config['size']:>10} "
                         f"{config['qos']:<12}{'LARGE_DATA' if config['large_data'] else '-':<11}"
                         f"{rate_text(config['rate']):>5} Hz x{config['cameras']}  "
                         f"{frames['received']}/{frames['sent']} ({share:.0%})  [{name}]"
                         + ('' if report['results']['publishers_matched'] else
                            '  (a publisher never matched its node)'))
    return lines


def hop_lines(reports: Dict[str, Dict]) -> List[str]:
    """Per-hop medians of the runs at 30 Hz (ros and chain runs that report them)."""
    lines = []
    for name, report in reports.items():
        hops = report['results'].get('hops_ms')
        if hops and report['config'].get('rate') == 30.0:
            # Points on the way (stamp -> ...) in the order reached; then each node's work.
            timeline = sorted((value, hop) for hop, value in hops.items() if 'work_p50' not in hop)
            work = [(value, hop) for hop, value in hops.items() if 'work_p50' in hop]
            lines += [f'  [{name}]'] + [
                '    ' + ', '.join(f'{hop} {value:.2f}' for value, hop in part)
                for part in (timeline, work)]
    return lines


def matching(reports: Dict[str, Dict], mode: str, size: str, **config) -> Iterator[Dict]:
    """Yield the reports of ``mode`` at ``size`` with all the given settings."""
    for report in reports.values():
        settings = report['config']
        if report['mode'] == mode and settings['size'] == size and all(
                settings.get(key) == value for key, value in config.items()):
            yield report


def find(reports: Dict[str, Dict], mode: str, size: str, **config) -> Optional[Dict]:
    """Return the first report of ``mode`` at ``size`` with all the given settings."""
    return next(matching(reports, mode, size, **config), None)


ENGINE_SETTINGS = ('model', 'backend', 'precision', 'cuda_graph', 'torch_compile', 'device',
                   'input_size')


def same_engine(report: Dict) -> Dict[str, object]:
    return {key: report['config'].get(key) for key in ENGINE_SETTINGS}


def check_targets(reports: Dict[str, Dict], size: str) -> List[Tuple[str, str, str]]:
    """(target, measured, PASS/FAIL/MISSING) for each target."""
    flat = find(reports, 'ros', size, rate=0.0, cameras=1)
    # Above the estimator's own rate, but not a flood that also loads the machine.
    at_500 = find(reports, 'ros', size, rate=500.0, cameras=1)
    # Runs at 30 Hz may differ in DDS transport settings: the target is met by the best.
    at_30 = min(matching(reports, 'ros', size, rate=30.0, cameras=1),
                key=lambda report: report['results']['latency_ms']['p50'], default=None)
    at_120 = find(reports, 'ros', size, rate=120.0, cameras=1)
    four = find(reports, 'ros', size, rate=0.0, cameras=4)
    ros = flat or at_500
    model = ros and find(reports, 'model', size, stages='all', batch=1, **same_engine(ros))
    baseline = flat and (flat.get('baseline') or (find(reports, 'baseline', size) or {}).get(
        'results'))
    checks = [
        ('ros flat-out FPS >= 5x baseline FPS', flat and baseline,
         lambda: _ratio(flat['results']['throughput_fps'], baseline['throughput_fps'], 5.0)),
        ('ros flat-out FPS >= 0.85x model FPS', flat and model,
         lambda: _ratio(flat['results']['throughput_fps'], model['results']['throughput_fps'],
                        0.85)),
        ('ros 500 Hz offered FPS >= 0.85x model FPS', at_500 and model,
         lambda: _ratio(at_500['results']['throughput_fps'], model['results']['throughput_fps'],
                        0.85)),
        ('30 Hz latency p99 <= 2x p50', at_30,
         lambda: _ratio(2 * at_30['results']['latency_ms']['p50'],
                        at_30['results']['latency_ms']['p99'], 1.0, 'p99 {1:.2f} ms, 2x p50 '
                        '{0:.2f} ms')),
        ('120 Hz no queue growth, drops counted', at_120, lambda: _no_growth(at_120)),
        ('30 Hz latency p50 <= 5 ms (best transport)', at_30,
         lambda: _ratio(5.0, at_30['results']['latency_ms']['p50'], 1.0,
                        'p50 {1:.2f} ms, ' + str(at_30['results'].get('transport')))),
        *chain_checks(reports, size),
        ('4 cameras flat out >= 600 FPS together', four,
         lambda: _ratio(four['results']['throughput_fps'], 600.0, 1.0)),
    ]
    return [(name, *(measure() if present else ('-', 'MISSING')))
            for name, present, measure in checks]


def served_fps(report: Dict) -> float:
    """Frames/s a run served: a chain's frames with their own depth, else all."""
    return report['results'].get('complete_fps', report['results']['throughput_fps'])


def chain_checks(reports: Dict[str, Dict], size: str) -> List[Tuple]:
    """
    Return the chain's targets: (name, present, measure) as in :func:`check_targets`.

    The best chain run (nodes in separate processes) is compared, flat out or at an
    offered rate: flat out, its two nodes drop frames independently (each takes the
    newest), so fewer frames have both depth and detections than either node serves.
    """
    chains = list(matching(reports, 'chain', size, in_process=False))
    chain = max(chains, key=served_fps, default=None)
    depth_only = max(matching(reports, 'ros', size, cameras=1), key=served_fps, default=None)

    def named(report: Dict) -> str:
        return f"{served_fps(report):.1f} at {rate_text(report['config']['rate'])} Hz"

    def accounted():
        worst = max(chains, key=lambda r: r['results']['frames']['unaccounted'])
        frames = worst['results']['frames']
        text = (f"worst of {len(chains)}: sent {frames['sent']}, received "
                f"{frames['received']}, with own depth {frames['with_depth']}, unaccounted "
                f"{frames['unaccounted']}")
        return text, 'PASS' if frames['unaccounted'] <= max(1, 0.01 * frames['sent']) else 'FAIL'

    def share():
        text, verdict = _ratio(served_fps(chain), served_fps(depth_only), 0.6)
        return f"{named(chain)} vs ros {named(depth_only)}: {text.rsplit(': ', 1)[1]}", verdict

    return [
        ('chain FPS with own depth >= 200 (best run)', chain,
         lambda: (named(chain), 'PASS' if served_fps(chain) >= 200.0 else 'FAIL')),
        ('chain >= 0.6x depth-only ros FPS (best runs)', chain and depth_only, share),
        ('chain: every frame accounted for', chains, accounted),
    ]


def _ratio(value: float, reference: float, minimum: float,
           text: str = '{0:.1f} vs {1:.1f}: {2:.2f}x') -> Tuple[str, str]:
    ratio = value / reference if reference else float('inf')
    return text.format(value, reference, ratio), 'PASS' if ratio >= minimum else 'FAIL'


def _no_growth(report: Dict) -> Tuple[str, str]:
    results = report['results']
    if 'p50' not in results['latency_ms']:
        return f"no depth arrived of {results['frames']['sent']} frames sent", 'FAIL'
    drift = results['latency_drift']['drift_ms']
    allowed = max(0.2 * results['latency_ms']['p50'], 2.0)
    frames = results['frames']
    unaccounted_ok = frames['unaccounted'] <= max(1, 0.01 * frames['sent'])
    text = (f"drift {drift:.2f} ms (<= {allowed:.2f}), lost {frames['lost']}, node dropped "
            f"{frames['node_dropped']}, unaccounted {frames['unaccounted']}")
    return text, 'PASS' if drift <= allowed and unaccounted_ok else 'FAIL'


def run(args) -> int:
    folder = Path(args.folder)
    reports = load_reports(folder)
    if not reports:
        print(f'no bench results in {folder}')
        return 1
    print(format_rows([row(name, report) for name, report in reports.items()]))
    print('\nframes arrived of sent (distro, size, input QoS, transport, rate, cameras):')
    print('\n'.join(arrival_lines(reports)))
    hops = hop_lines(reports)
    if hops:
        print('\nwhere the latency goes (medians, ms; stamp set just before publish):')
        print('\n'.join(hops))
    checks = check_targets(reports, args.size)
    print(f'\ntargets at {args.size}:')
    for name, measured, verdict in checks:
        print(f'  {verdict:<8}{name:<46}{measured}')
    note = {r['model_note'] for r in reports.values()}
    print('\nweights: ' + '; '.join(sorted(note)))
    (folder / SUMMARY_FILE).write_text(json.dumps(
        {'runs': {name: {'mode': r['mode'], 'config': r['config'], 'command': r['command'],
                         'throughput_fps': r['results']['throughput_fps']}
                  for name, r in reports.items()},
         'targets': [{'target': n, 'measured': m, 'verdict': v} for n, m, v in checks]},
        indent=2) + '\n')
    return 0
