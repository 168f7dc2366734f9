"""
``depth-trt-ros evaluate``: accuracy of models/backends/precisions against ground truth.

    evaluate [--data DIR | --bag BAG --image-topic T --depth-topic D]
             [--model A --model B ...] [--config runs.yaml] [--json results.json]

Without a dataset it uses the Middlebury motorcycle that scikit-image ships.
"""
from dataclasses import asdict, fields, replace
import json
import logging
from pathlib import Path
import time
from typing import Dict, List

import numpy as np
import yaml

from depth_trt_ros.inference.estimator import Outputs
from depth_trt_ros.inference.metrics import evaluate_prediction, METRICS, valid_mask
from depth_trt_ros.inference.model import DEFAULT_MODEL
from depth_trt_ros.ros.wire import quote
from depth_trt_ros.tools import evaluation_data
from depth_trt_ros.tools.model_options import add_model_arguments, config_from_args, \
    EstimatorConfig

_LOG = logging.getLogger('evaluate')
PROTOCOL = ('relative models: per-image least-squares scale and shift in disparity space, '
            'aligned depth capped at max_depth (default: the image\'s farthest ground truth); '
            'metric models: no alignment; metrics averaged over images')


def register(subparsers):
    parser = subparsers.add_parser(
        'evaluate', help='AbsRel, delta<1.25 and RMSE of one or more models on ground truth',
        description=f'Protocol: {PROTOCOL}.')
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--data', type=Path,
                        help='directory with rgb/NAME.png|jpg and depth/NAME.png (16-bit mm) '
                        'or depth/NAME.npy (metres)')
    source.add_argument('--bag', type=Path, help='rosbag2 with image and depth topics')
    parser.add_argument('--image-topic', default='/camera/image')
    parser.add_argument('--depth-topic', default='/camera/depth',
                        help='32FC1 (m) or 16UC1 (mm), paired with images by header stamp')
    add_model_arguments(parser, multiple=True)
    parser.add_argument('--config', type=Path,
                        help='YAML/JSON list of runs, each with any of: label, model_path, '
                        'backend, device, precision, input_size')
    parser.add_argument('--min-depth', type=float, default=1e-3)
    parser.add_argument('--max-depth', type=float, help='metres; ground truth beyond is '
                        'ignored and aligned depth capped there')
    parser.add_argument('--json', type=Path, help='write the results here')
    parser.set_defaults(func=run)


def run(args) -> int:
    runs = _runs(args)
    samples = list(_samples(args))
    for sample in samples:
        _check_ground_truth(sample, args.min_depth, args.max_depth)
    results = []
    for label, config in runs:
        try:
            results.append(evaluate_run(label, config, samples, args.min_depth,
                                        args.max_depth))
        except (ValueError, RuntimeError) as error:
            _LOG.error('%s: %s', label, error)
            results.append({'label': label, 'config': asdict(config), 'error': str(error)})
    print(format_table(results))
    if args.json:
        dataset = [s.name for s in samples]
        args.json.write_text(json.dumps({'protocol': PROTOCOL, 'samples': dataset,
                                         'results': results}, indent=2) + '\n')
    return 1 if any('error' in r for r in results) else 0


def evaluate_run(label: str, config: EstimatorConfig, samples, min_depth: float,
                 max_depth=None) -> Dict:
    """Mean errors and time per frame of one configuration over ``samples``."""
    from depth_trt_ros.inference.service import DepthService

    service = DepthService.load(config, _LOG.info)
    try:
        per_sample, times_ms = [], []
        for sample in samples:
            started = time.perf_counter()
            result, = service.estimate_batch([sample.rgb], Outputs())
            times_ms.append((time.perf_counter() - started) * 1e3)
            errors = evaluate_prediction(result.depth, result.metric, sample.depth_m,
                                         min_depth, max_depth)
            per_sample.append(dict(errors, name=sample.name))
        metric = service.metric
    finally:
        service.release()
    means = {m: float(np.mean([s[m] for s in per_sample])) for m in METRICS}
    return {'label': label, 'config': asdict(config), 'metric_model': metric,
            'frames': len(samples), **means, 'ms_per_frame': float(np.median(times_ms)),
            'per_sample': per_sample}


def format_table(results: List[Dict]) -> str:
    lines = [f"{'run':<48}{'frames':>7}{'AbsRel':>9}{'d<1.25':>9}{'RMSE m':>9}{'ms':>9}"]
    for r in results:
        if 'error' in r:
            lines.append(f"{r['label']:<48}  failed: {r['error']}")
            continue
        lines.append(f"{r['label']:<48}{r['frames']:>7}{r['abs_rel']:>9.4f}"
                     f"{r['delta1']:>9.4f}{r['rmse']:>9.4f}{r['ms_per_frame']:>9.1f}")
    return '\n'.join(lines)


def _check_ground_truth(sample, min_depth: float, max_depth):
    """Refuse a sample that no metric can be computed on, naming its file."""
    if valid_mask(sample.depth_m, min_depth, max_depth).sum() < 2:
        limits = f'{min_depth}-{max_depth if max_depth is not None else "inf"} m'
        raise ValueError(f'{sample.source}: ground truth has fewer than two valid pixels '
                         f'(finite, within {limits}) — check its unit (16-bit PNG and 16UC1 '
                         'in mm, .npy and 32FC1 in metres) or --min-depth/--max-depth')


_KINDS = {int: 'a whole number', str: 'a string', bool: 'true or false'}
CONFIG_EXAMPLE = '- {label: small, model_path: random:small, input_size: 518}'


def _config_entries(path: Path) -> List[Dict]:
    """Return the runs of a ``--config`` file: a YAML (or JSON) list of mappings."""
    try:
        entries = yaml.safe_load(path.read_bytes())
    except (yaml.YAMLError, ValueError) as error:  # ValueError: not UTF-8
        where = getattr(error, 'problem_mark', None)
        at = f' at line {where.line + 1}' if where else ''
        raise ValueError(f'{path}: not valid YAML{at} — write a list of runs, one per line '
                         f'like "{CONFIG_EXAMPLE}"') from error
    entries = entries or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f'{path}: must be a list of runs, each a mapping, like '
                         f'"{CONFIG_EXAMPLE}"')
    return entries


def _settings(path: Path, number: int, entry: Dict, base: EstimatorConfig) -> Dict:
    """Return the EstimatorConfig fields of run ``number`` of ``path``, refusing wrong ones."""
    known = {f.name for f in fields(EstimatorConfig)}
    unknown = set(entry) - known - {'label'}
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                         f"use label, {', '.join(sorted(known))}")
    settings = {k: v for k, v in entry.items() if k != 'label'}
    for key, value in settings.items():
        expected = type(getattr(base, key))
        if type(value) is not expected:
            raise ValueError(f'{path}: run {number}: {key} is {quote(value)} — give '
                             f"{_KINDS.get(expected, 'a ' + expected.__name__)}")
    return settings


def _runs(args):
    """(label, EstimatorConfig) per ``--model`` and per ``--config`` entry."""
    base = config_from_args(args, model=DEFAULT_MODEL)
    runs = [(replace(base, model_path=m).label(), replace(base, model_path=m))
            for m in args.models or ()]
    if args.config:
        for number, entry in enumerate(_config_entries(args.config), 1):
            config = replace(base, **_settings(args.config, number, entry, base))
            runs.append((str(entry.get('label', config.label())), config))
    return runs or [(base.label(), base)]


def _samples(args):
    if args.data:
        return evaluation_data.directory_samples(args.data)
    if args.bag:
        return evaluation_data.bag_samples(args.bag, args.image_topic, args.depth_topic)
    return [evaluation_data.motorcycle_sample()]
