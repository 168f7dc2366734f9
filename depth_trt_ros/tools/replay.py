"""
``depth-trt-ros replay``: depth over a recorded bag, or the bag played onto live topics.

Usage::

    replay IN_BAG OUT_BAG [--topics T ...] [model options] [--colorized]
                          [--detector MODEL.onnx [detection options]]
    replay IN_BAG --realtime [--rate R] [--topics T ...]
    replay --make-sample OUT_BAG [--storage mcap]
"""
from contextlib import ExitStack
import json
import logging
from pathlib import Path

from tqdm import tqdm

from depth_trt_ros.inference.backends.base import ModelLoadError
from depth_trt_ros.tools.detector_options import add_detector_arguments, detector_config, \
    require_vision_msgs
from depth_trt_ros.tools.model_options import add_model_arguments, config_from_args
from depth_trt_ros.tools.recorded.bags import BagReader, STORAGES

_LOG = logging.getLogger('replay')


def register(subparsers):
    parser = subparsers.add_parser(
        'replay', help='run depth over a rosbag2 (sqlite3/MCAP) into a new bag',
        description='Offline: read IN_BAG, write its image topics, <ns>/depth, '
        '<ns>/depth/camera_info and /diagnostics (with --detector also <ns>/detections and '
        '<ns>/detections_3d) to OUT_BAG as fast as the backend runs. '
        '--realtime: publish IN_BAG on live topics at the recorded rate, with /clock.')
    parser.add_argument('in_bag', nargs='?', help='input bag directory or .mcap file')
    parser.add_argument('out_bag', nargs='?', help='output bag directory (must not exist)')
    parser.add_argument('--topics', nargs='+', default=(), metavar='TOPIC',
                        help='image topics to process (default: one per namespace, raw '
                        'preferred); with --realtime, the topics to publish (default all)')
    add_model_arguments(parser)
    parser.add_argument('--colorized', action='store_true', help='also write depth/colorized')
    parser.add_argument('--depth-mm', action='store_true',
                        help='also write depth/mm (16UC1; metric models only)')
    parser.add_argument('--points', action='store_true',
                        help='also write points (PointCloud2 from <ns>/camera_info; metric '
                        'models only)')
    parser.add_argument('--storage', choices=tuple(STORAGES),
                        help='output storage (default: that of the input)')
    parser.add_argument('--report-json', type=Path, help='write the closing report here')
    parser.add_argument('--realtime', action='store_true',
                        help='publish IN_BAG on live topics instead of writing a bag')
    parser.add_argument('--rate', type=float, default=1.0,
                        help='--realtime speed factor (default %(default)s)')
    parser.add_argument('--make-sample', metavar='OUT_BAG', type=Path,
                        help='write a sample bag of skimage photographs and exit')
    add_detector_arguments(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.make_sample:
        return _make_sample(args)
    if not args.in_bag:
        _LOG.error('give IN_BAG (or --make-sample OUT_BAG)')
        return 2
    if args.realtime:
        return _play(args)
    if not args.out_bag:
        _LOG.error('give OUT_BAG, or --realtime to publish IN_BAG on live topics')
        return 2
    return _replay(args)


def _make_sample(args) -> int:
    from depth_trt_ros.tools.recorded.sample_bag import write_sample_bag

    frames = write_sample_bag(args.make_sample, storage=args.storage or 'sqlite3')
    _LOG.info('wrote %d frames to %s', frames, args.make_sample)
    return 0


def _replay(args) -> int:
    from depth_trt_ros.inference.service import DepthService
    from depth_trt_ros.tools.recorded.bag_replay import BagReplay

    if Path(args.out_bag).exists():
        _LOG.error('%s exists: choose a new output path', args.out_bag)
        return 2
    # The bag is checked first, then the detector, then the slower depth model.
    total = BagReplay.count_frames(args.in_bag, args.topics)
    with ExitStack() as resources:
        detector = _load_detector(args)
        if detector is not None:
            resources.callback(detector.close)
        service = DepthService.load(config_from_args(args), _LOG.info)
        resources.callback(service.release)
        replay = BagReplay(service, args.colorized, args.depth_mm, args.points,
                           detector=detector)
        with tqdm(total=total, unit='frame', desc='depth') as progress:
            report = replay.run(args.in_bag, args.out_bag, args.topics, args.storage,
                                on_frame=progress.update)
    print(report.as_text())
    if args.report_json:
        args.report_json.write_text(json.dumps(report.as_dict(), indent=2) + '\n')
    return 0


def _load_detector(args):
    """Return the YOLO detector of ``--detector`` (None without it); raise what stops it."""
    config = detector_config(args)
    if config is None:
        return None
    require_vision_msgs('--detector writes')
    from depth_trt_ros.inference.detection.build import build_detector
    try:
        return build_detector(config, _LOG.info)
    except ModelLoadError as error:
        raise ModelLoadError(f'--detector {args.detector}: {error}') from error


def _play(args) -> int:
    from rclpy.node import Node

    from depth_trt_ros.tools.recorded.live_replay import publish_bag
    from depth_trt_ros.ros.runtime import ros_context

    BagReader(args.in_bag).close()  # refuses a broken bag before ROS starts
    with ros_context():
        node = Node('bag_player')
        try:
            with tqdm(unit='msg', desc='published') as progress:
                publish_bag(node, args.in_bag, args.topics, args.rate, progress.update,
                            wait_for_subscribers_s=2.0)
        finally:
            node.destroy_node()
    return 0
