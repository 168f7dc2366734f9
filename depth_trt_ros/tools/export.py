"""
``depth-trt-ros export``: model -> ONNX -> TensorRT engine + JSON sidecar.

Run it on the machine that will run the engine (the robot): full TensorRT
engines only load with the TensorRT version and on the GPU model that built
them.
"""
import argparse
import logging
from pathlib import Path
import re

import torch

from depth_trt_ros.inference import tensorrt_runtime
from depth_trt_ros.inference.engine_build import build_engine, BuildRequest
from depth_trt_ros.inference.engine_meta import sidecar_path
from depth_trt_ros.inference.engine_profile import DEFAULT_CAMERAS, parse_camera, \
    profile_for_cameras
from depth_trt_ros.inference.model import DEFAULT_MODEL, load_depth_model
from depth_trt_ros.inference.onnx_export import DEFAULT_OPSET, export_onnx
from depth_trt_ros.inference.preprocess import DEFAULT_INPUT_SIZE, network_input_size

MIN_OPSET = 17
# The exporter's passes log every rewrite at INFO, which buries this tool's output.
CHATTY_EXPORT_LOGGERS = ('onnxscript', 'onnx_ir')
_LOG = logging.getLogger(__name__)


def register(subparsers):
    parser = subparsers.add_parser(
        'export', help='export ONNX and build a TensorRT engine with its sidecar',
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', default=DEFAULT_MODEL,
                        help='hub id, save_pretrained directory, random:<size>, or an .onnx '
                        'file to build from (default: %(default)s)')
    parser.add_argument('--output-dir', type=Path, required=True, help='where files go')
    parser.add_argument('--onnx-only', action='store_true', help='stop after the ONNX')
    parser.add_argument('--precision', choices=('fp16', 'fp32'),
                        help='engine precision (default fp16; fp32 with --onnx-only, where '
                        'fp16 means an fp16 ONNX, which needs CUDA)')
    parser.add_argument('--camera', action='append', metavar='WxH',
                        help='camera resolution the engine must accept; repeat for several '
                        f"(default: {' '.join(DEFAULT_CAMERAS)})")
    parser.add_argument('--input-size', type=int, default=DEFAULT_INPUT_SIZE,
                        help='short-side network size, as the node uses (default: %(default)s)')
    parser.add_argument('--max-batch', type=int, default=1, help='largest batch (default: 1)')
    parser.add_argument('--workspace-gb', type=float, default=4.0,
                        help='builder workspace limit in GiB (default: %(default)s)')
    parser.add_argument('--timing-cache', type=Path,
                        help='timing cache reused across builds (default: '
                        'OUTPUT_DIR/timing.cache)')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help=f'ONNX opset, at least {MIN_OPSET} (default: %(default)s)')
    parser.set_defaults(func=run)


def file_stem(model: str) -> str:
    """Turn a model reference into a file-name stem: ``random:tiny`` -> ``random-tiny``."""
    name = Path(model.rstrip('/')).name if not model.endswith('.onnx') else Path(model).stem
    return re.sub(r'[^A-Za-z0-9._-]+', '-', name).strip('-') or 'model'


def needs_fp16_onnx(precision: str, onnx_only: bool) -> bool:
    """Tell whether to export fp16 ONNX: fp16 without an FP16 builder flag needs one."""
    if precision != 'fp16':
        return False
    return onnx_only or not tensorrt_runtime.has_fp16_builder_flag(
        tensorrt_runtime.require_tensorrt())


def _export(args, sample_size) -> Path:
    if args.model.endswith('.onnx'):
        if not Path(args.model).is_file():
            raise ValueError(f"ONNX file '{args.model}' does not exist")
        return Path(args.model)
    fp16 = needs_fp16_onnx(args.precision, args.onnx_only)
    if fp16 and not torch.cuda.is_available():
        raise ValueError('an fp16 engine here needs an fp16 ONNX (this TensorRT has no FP16 '
                         'builder flag, or --onnx-only was given), and an fp16 export needs '
                         'CUDA: run on a CUDA machine or use --precision fp32')
    path = args.output_dir / f"{file_stem(args.model)}{'_fp16' if fp16 else ''}.onnx"
    _LOG.info('exporting %s to %s (opset %d)', args.model, path, args.opset)
    for name in CHATTY_EXPORT_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    return export_onnx(load_depth_model(args.model), path, sample_size, args.opset, fp16)


def run(args) -> int:
    if args.opset < MIN_OPSET:
        raise ValueError(f'opset {args.opset} is too old: use --opset {MIN_OPSET} or newer')
    args.precision = args.precision or ('fp32' if args.onnx_only else 'fp16')
    if not args.onnx_only:
        tensorrt_runtime.require_tensorrt()  # fail before the slow export, not after it
    cameras = args.camera or list(DEFAULT_CAMERAS)
    sizes = [parse_camera(camera) for camera in cameras]
    profile = profile_for_cameras(sizes, args.input_size, args.max_batch)
    width, height = sizes[0]
    onnx_path = _export(args, network_input_size(height, width, args.input_size))
    print(f'onnx:    {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB)')
    if args.onnx_only:
        return 0
    engine_path = args.output_dir / f'{file_stem(args.model)}_{args.precision}.engine'
    request = BuildRequest(model=args.model, precision=args.precision, profile=profile,
                           cameras=cameras, input_size=args.input_size,
                           workspace_gb=args.workspace_gb,
                           timing_cache=args.timing_cache or args.output_dir / 'timing.cache')
    metadata = build_engine(onnx_path, engine_path, request)
    print(f'engine:  {engine_path} ({metadata.engine_bytes / 1e6:.1f} MB, {metadata.precision},'
          f' {metadata.tensorrt_module} {metadata.tensorrt_version}, '
          f'built in {metadata.build_seconds:.1f} s)')
    print(f'sidecar: {sidecar_path(engine_path)}')
    print(f'profile: {profile.describe()}')
    return 0
