"""
``depth-trt-ros bench``: how fast depth gets from a camera to a subscriber.

Modes, from the model alone to the whole ROS graph:

- ``baseline``: transformers' own recipe, the reference every report compares with;
- ``model``: the backend alone or with pre/post-processing, any batch size;
- ``pipeline``: conversion, estimator and output message, in this process;
- ``ros``: publisher processes -> one depth_node process -> this process, over DDS;
- ``chain``: a camera -> depth_node + detector_node + distance_node -> this process,
  against the seed's whole stack (transformers depth + YOLO, one frame at a time);
- ``summary``: one table of a folder of results, with the performance targets checked.
"""
import argparse
import json
from pathlib import Path

from depth_trt_ros.inference.backends import BACKEND_NAMES
from depth_trt_ros.inference.preprocess import DEFAULT_INPUT_SIZE
from depth_trt_ros.ros.params import SPECS
from depth_trt_ros.tools.bench.baseline import VARIANTS
from depth_trt_ros.tools.bench.children import cpu_list
from depth_trt_ros.tools.bench.report import environment, model_note, write_report
from depth_trt_ros.tools.bench.summary import register as register_summary

MODES = ('baseline', 'model', 'pipeline', 'ros', 'chain')


def _common(parser: argparse.ArgumentParser):
    parser.add_argument('--model', default='random:small',
                        help='model reference; random:small is DA-V2-Small with random weights')
    parser.add_argument('--backend', default='torch', choices=BACKEND_NAMES)
    parser.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--precision', default='auto', choices=('auto', 'fp16', 'fp32'))
    parser.add_argument('--cuda-graph', action=argparse.BooleanOptionalAction, default=True,
                        help='replay inference as a CUDA graph (torch/TensorRT on CUDA)')
    parser.add_argument('--input-size', type=int, default=DEFAULT_INPUT_SIZE,
                        help='network input size of the short side')
    parser.add_argument('--torch-compile', action='store_true',
                        help="compile the depth model with torch.compile before graphing it "
                        "(the node's torch_compile; torch backend on CUDA)")
    parser.add_argument('--size', default='640x480', help='synthetic frame size WIDTHxHEIGHT')
    parser.add_argument('--bag', help='read frames from this rosbag instead (rosbags package)')
    parser.add_argument('--bag-topic', help='sensor_msgs/Image topic of --bag (default: first)')
    parser.add_argument('--iterations', type=int, default=100, help='measured iterations')
    parser.add_argument('--warmup', type=int, default=10, help='unmeasured iterations first')
    parser.add_argument('--baseline', metavar='JSON',
                        help='take the baseline from this earlier `bench baseline` result '
                        'instead of measuring it in this run')
    parser.add_argument('--baseline-iterations', type=int, default=20,
                        help='frames of the baseline measured in this run; 0 skips it')
    parser.add_argument('-o', '--output', metavar='JSON', help='write the result here')


def _ros_options(parser: argparse.ArgumentParser):
    parser.add_argument('--rate', type=float, default=30.0, help='Hz per camera; 0 = flat out')
    parser.add_argument('--duration', type=float, default=10.0, help='measured seconds')
    parser.add_argument('--warmup-s', type=float, default=3.0, help='warm-up seconds')
    parser.add_argument('--cameras', type=int, default=1, help='cameras, one topic each')
    parser.add_argument('--qos', choices=('reliable', 'best_effort'), default='reliable',
                        help='input reliability of publishers and nodes')
    parser.add_argument('--qos-depth', type=int, default=SPECS['qos_depth'].default,
                        help="the node's input history depth (default: the node's, "
                        '%(default)s); publishers keep 5, as camera drivers do')
    parser.add_argument('--large-data', action='store_true',
                        help='FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA on every process '
                        '(otherwise unset on every process)')
    parser.add_argument('--dds-max-message', type=int, default=0, metavar='MB',
                        help='with --large-data: DDS messages and socket buffers of MB '
                        'megabytes, so that a frame travels as one message, not 64 KB '
                        "fragments (needs the kernel's net.core.rmem_max/wmem_max >= MB)")
    parser.add_argument('--node-cpus', type=cpu_list, metavar='LIST',
                        help='cores the nodes run on, e.g. 0-7 (default: any)')
    parser.add_argument('--publisher-cpus', type=cpu_list, metavar='LIST',
                        help='cores the camera publishers run on, e.g. 8-15 (default: any): '
                        'keeps a flooding publisher from taking the nodes\' cores')
    parser.add_argument('--node-timeout', type=float, default=180.0,
                        help='seconds a node may take to become active')
    parser.add_argument('--log-dir', help='node and publisher logs (default: a temp folder)')


def _chain_options(parser: argparse.ArgumentParser):
    parser.add_argument('--yolo-model', required=True,
                        help="the detector's model_path (.onnx, .torchscript, ...), also run "
                        "by the seed-stack baseline")
    parser.add_argument('--yolo-backend', default='auto', help="the detector's backend")
    parser.add_argument('--in-process', action='store_true',
                        help='the three nodes in one `depth-trt-ros pipeline` process')


def register(subparsers):
    parser = subparsers.add_parser('bench', help='measure throughput and latency',
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest='mode', required=True, metavar='MODE')
    baseline = modes.add_parser('baseline', help="the seed's transformers code (the reference)")
    baseline.add_argument('--variants', nargs='*', default=[], choices=VARIANTS,
                          help='extra rows beside the reference (never the divisor): '
                          'pil-eager = the PIL processor with eager attention forced')
    model = modes.add_parser('model', help='backend only, or with pre/post-processing')
    model.add_argument('--stages', choices=('infer', 'all'), default='infer')
    model.add_argument('--batch', type=int, default=1, help='frames per backend call')
    pipeline = modes.add_parser('pipeline', help='Image message in, Image message out')
    ros = modes.add_parser('ros', help='publishers -> depth_node -> subscriber over DDS')
    _ros_options(ros)
    chain = modes.add_parser('chain', help='camera -> depth + YOLO + distances -> subscriber')
    _ros_options(chain)
    _chain_options(chain)
    for mode_parser in (baseline, model, pipeline, ros, chain):
        _common(mode_parser)
        mode_parser.set_defaults(func=run)
    register_summary(modes)


def baseline_for(args, frames):
    """Return this run's baseline: read from ``--baseline``, measured here, or none."""
    from depth_trt_ros.tools.bench.baseline import measure_baseline

    if args.baseline:
        return json.loads(Path(args.baseline).read_text())['results']
    if args.baseline_iterations <= 0:
        return None
    return measure_baseline(frames, args.model, args.device, args.baseline_iterations,
                            min(args.warmup, 3), args.input_size)


def run(args) -> int:
    from depth_trt_ros.tools.bench import frames as frame_source

    frames = frame_source.load_frames(args)
    size = f'{frames[0].shape[1]}x{frames[0].shape[0]}'
    config = {name: value for name, value in vars(args).items() if name != 'func'}
    if args.mode in ('ros', 'chain'):
        from depth_trt_ros.tools.bench.ros_mode import transport_setting
        transport_setting(args.large_data, args.dds_max_message)  # refused before any work
    report = dict(mode=args.mode, model_note=model_note(args.model),
                  config=dict(config, size=size))
    if args.mode == 'baseline':
        from depth_trt_ros.tools.bench.baseline import measure_baseline
        report['results'] = measure_baseline(frames, args.model, args.device, args.iterations,
                                             args.warmup, args.input_size, args.variants)
    elif args.mode == 'chain':
        from depth_trt_ros.tools.bench.chain import chain_baseline, check_options, run_chain
        check_options(args)
        report['baseline'] = chain_baseline(args, frames)
        report['results'] = run_chain(args)
    else:
        report['baseline'] = baseline_for(args, frames)
        report['results'] = _measure(args, frames)
    if report.get('baseline'):
        # A chain frame counts once it has distances from its own depth.
        served = report['results'].get('complete_fps', report['results']['throughput_fps'])
        report['speedup_vs_baseline'] = served / report['baseline']['throughput_fps']
    # Read last: ros mode sets the DDS transport variable that the versions record.
    report.update(environment())
    write_report(report, args.output)
    return 0


def _measure(args, frames):
    if args.mode == 'model':
        from depth_trt_ros.tools.bench.inprocess import run_model
        return run_model(args, frames)
    if args.mode == 'pipeline':
        from depth_trt_ros.tools.bench.inprocess import run_pipeline
        return run_pipeline(args, frames)
    from depth_trt_ros.tools.bench.ros_mode import run_ros
    return run_ros(args)
