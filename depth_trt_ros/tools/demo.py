"""
``depth-trt-ros demo``: sample frames through a live depth_node, over DDS.

A camera node publishes real photographs (scikit-image's, or a folder of
yours) as sensor_msgs/Image; depth_node computes depth in the same process,
on its own executor thread; what comes back over DDS is written as depth
``.npy``, 16-bit PNG and a colorized PNG, with a timing table.
"""
from pathlib import Path
import time

import cv2
import numpy as np

from depth_trt_ros.inference.model import DEFAULT_MODEL, reachable_or_random

SHARED_MODEL = Path(__file__).resolve().parents[2].parent / 'shared' / 'models' / \
    'Depth-Anything-V2-Small-hf'
TIMING_STAGES = ('convert', 'preprocess', 'infer', 'postprocess', 'publish')


def sample_frames(folder=None):
    """``[(name, rgb uint8)]``: a folder's images, or the photographs scikit-image ships."""
    if folder:
        paths = sorted(p for p in Path(folder).iterdir()
                       if p.suffix.lower() in ('.jpg', '.jpeg', '.png'))
        if not paths:
            raise SystemExit(f'no .jpg/.png images in {folder}')
        return [(p.stem, cv2.imread(str(p), cv2.IMREAD_COLOR)[..., ::-1].copy())
                for p in paths]
    from skimage import data
    return [(name, getattr(data, name)()) for name in ('astronaut', 'chelsea', 'coffee')]


def register(subparsers):
    parser = subparsers.add_parser('demo', help='depth on sample frames through depth_node',
                                   description=__doc__)
    parser.add_argument('--model', default=None,
                        help=f'model reference (default: ../shared/models if present, else '
                             f'{DEFAULT_MODEL}, else random weights when offline)')
    parser.add_argument('--backend', default='auto')
    parser.add_argument('--device', default='auto')
    parser.add_argument('--precision', default='auto')
    parser.add_argument('--images', default=None, help='folder of .jpg/.png frames')
    parser.add_argument('--output-dir', default='out/demo')
    parser.add_argument('--repeat', type=int, default=3,
                        help='times each frame is sent (the first includes warm-up)')
    parser.set_defaults(func=run)


def choose_model(requested):
    if requested:
        return reachable_or_random(requested)
    if (SHARED_MODEL / 'config.json').is_file():
        return str(SHARED_MODEL), str(SHARED_MODEL)
    return reachable_or_random(DEFAULT_MODEL)


def run(args) -> int:
    from depth_trt_ros.tools.demo_graph import DemoGraph

    model, note = choose_model(args.model)
    frames = sample_frames(args.images)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    print(f'model: {note}')
    params = {'model_path': model, 'backend': args.backend, 'device': args.device,
              'precision': args.precision}
    rows = []
    with DemoGraph(params) as graph:
        print('node: ' + ', '.join(f'{k}={v}' for k, v in graph.describe().items()))
        for name, rgb in frames:
            for _ in range(args.repeat):
                started = time.perf_counter()
                depth, colorized, timings = graph.round_trip(rgb)
                round_trip_ms = (time.perf_counter() - started) * 1e3
            write_outputs(out, name, depth, colorized)
            rows.append((name, rgb.shape, timings, round_trip_ms))
    table = timing_table(rows)
    (out / 'timing.md').write_text(f'model: {note}\n\n{table}\n')
    print(table)
    print(f'wrote depth .npy, 16-bit PNG and colorized PNG for {len(frames)} frames to {out}/')
    return 0


def write_outputs(out: Path, name: str, depth: np.ndarray, colorized: np.ndarray):
    np.save(out / f'{name}_depth.npy', depth)
    finite = depth[np.isfinite(depth)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    scaled = (depth - low) / max(high - low, 1e-12) * 65535.0
    cv2.imwrite(str(out / f'{name}_depth16.png'),
                np.nan_to_num(scaled).clip(0, 65535).astype(np.uint16))
    cv2.imwrite(str(out / f'{name}_colorized.png'), colorized)


def timing_table(rows) -> str:
    header = '| frame | size | ' + ' | '.join(f'{s} ms' for s in TIMING_STAGES) + \
        ' | round trip ms |'
    lines = [header, '|' + '---|' * (len(TIMING_STAGES) + 3)]
    for name, shape, timings, round_trip in rows:
        cells = ' | '.join(f'{timings.get(s, float("nan")):.1f}' for s in TIMING_STAGES)
        lines.append(f'| {name} | {shape[1]}x{shape[0]} | {cells} | {round_trip:.1f} |')
    return '\n'.join(lines)
