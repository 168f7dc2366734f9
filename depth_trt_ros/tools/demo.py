"""
``depth-trt-ros demo``: sample frames through depth_node + detector_node + distance_node.

A camera node publishes real photographs (scikit-image's, or a folder of
yours) as sensor_msgs/Image with a camera_info; depth_node, detector_node and
distance_node run in the same process, on one executor, and talk over DDS.
What comes back is written per frame as depth ``.npy``, 16-bit PNG, a
colorized PNG and a picture of the photograph with its boxes labelled by
class and distance beside the depth; ``timing.md`` times the whole chain.
"""
from pathlib import Path

import cv2
import numpy as np

from depth_trt_ros.inference.detection.draw import class_color
from depth_trt_ros.inference.model import RANDOM_PREFIX, reachable_or_random
from depth_trt_ros.tools.detector_options import require_vision_msgs

# Metric depth, so that the distances are in metres; the model config/depth_yolo.yaml runs.
DEMO_MODEL = 'depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf'
STAND_IN_NOTE = ('STAND-IN DETECTOR: no YOLO model given (--detector FILE), so a fixed '
                 'YOLO-layout model marks bright and dark patches; these are not real '
                 'detections')
# Few, confident boxes: a picture to look at, not a list to read.
DETECTOR_PARAMS = {'confidence': 0.5, 'max_detections': 4}
NODE_STAGES = {'depth_node': ('convert', 'preprocess', 'infer', 'postprocess', 'publish'),
               'detector_node': ('convert', 'preprocess', 'infer', 'postprocess', 'publish'),
               'distance_node': ('distance', 'publish')}
ARRIVALS = {'depth': 'camera publish -> depth received',
            'detections': 'camera publish -> detections received',
            'detections_3d': 'camera publish -> distances received (end to end)'}


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
    parser = subparsers.add_parser(
        'demo', help='depth + YOLO + distances on sample frames through live nodes',
        description=__doc__.split('\n\n')[1])
    parser.add_argument('--model', default=None,
                        help=f'depth model reference (default: {DEMO_MODEL} from the hub or '
                             f'its cache, else random weights)')
    parser.add_argument('--detector', default=None, type=Path,
                        help='YOLOv8/YOLO11 .onnx file (default: a stand-in that marks bright '
                             'and dark patches, not real detections)')
    parser.add_argument('--backend', default='auto')
    parser.add_argument('--device', default='auto')
    parser.add_argument('--precision', default='auto')
    parser.add_argument('--images', default=None, help='folder of .jpg/.png frames')
    parser.add_argument('--output-dir', default='out/demo')
    parser.add_argument('--repeat', type=int, default=2,
                        help='times each frame is sent (the first includes warm-up)')
    parser.set_defaults(func=run)


def choose_detector(requested, out: Path):
    """Return ``(model path, note)``: the file asked for, or the stand-in built in ``out``."""
    if requested:
        if not requested.is_file():
            raise ValueError(f"--detector '{requested}' is not a file: give a YOLOv8/YOLO11 "
                             'ONNX export (see docs/detection.md), or leave it out')
        return str(requested), str(requested)
    from depth_trt_ros.tools.yolo_layout import patch_finder_model
    return str(patch_finder_model(out / 'stand_in_detector.onnx')), STAND_IN_NOTE


def run(args) -> int:
    require_vision_msgs('the demo shows')
    # Imported once vision_msgs is known to be there: every other tool runs without it.
    from depth_trt_ros.tools.demo_graph import DemoGraph
    from depth_trt_ros.tools.demo_picture import chain_picture, draw_boxes

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    depth_model, depth_note = reachable_or_random(args.model or DEMO_MODEL,
                                                  fallback=RANDOM_PREFIX + 'small-metric')
    detector_model, detector_note = choose_detector(args.detector, out)
    # Said first, on the console and on every picture, so no one takes them for results.
    not_real = []
    if depth_model.startswith(RANDOM_PREFIX):
        not_real.append(f'depth from random weights ({depth_model})')
    if args.detector is None:
        not_real.append('stand-in detector: boxes on bright and dark patches, not objects')
    print('NOT REAL: ' + ' | '.join(not_real) if not_real else
          'depth and detections from the models given')
    notes = f'depth model: {depth_note}\ndetector: {detector_note}'
    print(notes)
    frames = sample_frames(args.images)
    # The camera is reliable from the start: with qos auto the nodes would re-subscribe
    # once they see it, and a frame in flight then could be lost.
    common = {'device': args.device, 'precision': args.precision, 'qos': 'reliable'}
    depth_params = dict(common, model_path=depth_model, backend=args.backend)
    rows = []
    with DemoGraph(depth_params, dict(DETECTOR_PARAMS, model_path=detector_model, **common),
                   {'qos': 'reliable'}) as graph:
        for name, node in graph.describe().items():
            print(f'{name}: ' + ', '.join(f'{k}={v}' for k, v in node.items()))
        metric = graph.nodes['depth_node'].service.metric
        names = list(graph.nodes['detector_node'].detector.class_names)
        for name, rgb in frames:
            for _ in range(args.repeat):
                result = graph.round_trip(rgb)
            write_outputs(out, name, result.depth, result.colorized)
            boxed = draw_boxes(np.ascontiguousarray(rgb[..., ::-1]), result.detections,
                               result.detections_3d, metric,
                               lambda label: class_color(names.index(label)
                                                         if label in names else 0))
            cv2.imwrite(str(out / f'{name}_chain.png'),
                        chain_picture(name, boxed, result.colorized, result.depth, metric,
                                      [f'NOT REAL: {what}' for what in not_real]))
            rows.append((name, rgb.shape, result))
    table = timing_table(rows)
    (out / 'timing.md').write_text(f'{notes}\n\n{table}\n')
    print(table)
    print(f'wrote per frame: <frame>_chain.png (photo with boxes + depth), depth .npy, '
          f'16-bit and colorized PNG, for {len(frames)} frames, and timing.md to {out}/')
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
    """Milliseconds per node stage and from the camera's publish, one column per frame."""
    header = '| ms (last send of each frame) | ' + ' | '.join(
        f'{name} {shape[1]}x{shape[0]}' for name, shape, _ in rows) + ' |'
    lines = [header, '|---|' + '---:|' * len(rows)]
    for node, stages in NODE_STAGES.items():
        for stage in stages:
            cells = ' | '.join(f'{result.timings[node].get(stage, float("nan")):.1f}'
                               for _, _, result in rows)
            lines.append(f'| {node} {stage} | {cells} |')
    for topic, what in ARRIVALS.items():
        cells = ' | '.join(f'{result.arrival_ms[topic]:.1f}' for _, _, result in rows)
        lines.append(f'| {what} | {cells} |')
    return '\n'.join(lines)
