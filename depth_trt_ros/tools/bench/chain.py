"""
``bench chain``: camera -> depth_node + detector_node + distance_node -> this process.

The whole pipeline of ``config/depth_yolo.yaml`` over DDS: a camera publisher
process, the three nodes (each in its own process, or with ``--in-process`` all
in one ``depth-trt-ros pipeline`` process) and this process subscribing
``detections_3d``; the same timeline and counters as ``bench ros``. The nodes read
one generated parameter file; the distance node pairs exact stamps only
(``sync_slop`` 0), so a Detection3DArray with distances used its own frame's depth.
"""
import json
import sys
from pathlib import Path
from typing import Dict, List

import yaml

from depth_trt_ros.tools.bench.children import Processes
from depth_trt_ros.tools.bench.results import chain_results
from depth_trt_ros.tools.bench.ros_mode import NAMESPACE, run_graph, transport_name
from depth_trt_ros.tools.detector_options import require_vision_msgs

CAMERA = 'cam0'
NODES = ('depth_node', 'detector_node', 'distance_node')


def detection3d_type():
    """Return Detection3DArray, or raise ValueError saying how to get vision_msgs."""
    require_vision_msgs('bench chain runs detector_node and distance_node, which publish')
    from vision_msgs.msg import Detection3DArray
    return Detection3DArray


def chain_parameters(args) -> Dict[str, Dict]:
    """Return the parameter file of the three nodes, from the bench's options."""
    common = {'qos': args.qos, 'autostart': True}
    engine = dict(common, device=args.device, precision=args.precision)
    return {
        '/**/depth_node': {'ros__parameters': dict(
            engine, model_path=args.model, backend=args.backend,
            cuda_graph=args.cuda_graph, torch_compile=args.torch_compile,
            input_size=args.input_size, qos_depth=args.qos_depth,
            publish_colorized=False)},
        '/**/detector_node': {'ros__parameters': dict(
            engine, model_path=args.yolo_model, backend=args.yolo_backend,
            qos_depth=args.qos_depth)},
        # The depth kind follows the depth model; the bench sends no camera_info, so a
        # metric model's objects get z only.
        '/**/distance_node': {'ros__parameters': dict(common, sync_slop=0.0)},
    }


def node_commands(args, config: Path, namespace: str) -> Dict[str, List[str]]:
    """Process name -> command line: one per node, or one ``pipeline`` for all."""
    if args.in_process:
        return {'pipeline': [sys.executable, '-m', 'depth_trt_ros.tools.cli', 'pipeline',
                             '--config', str(config), '--namespace', namespace,
                             '--camera-topic', f'{namespace}/image',
                             '--camera-info-topic', f'{namespace}/camera_info']}
    modules = {'depth_node': 'depth_trt_ros.ros.depth_node',
               'detector_node': 'depth_trt_ros.ros.detector_node',
               'distance_node': 'depth_trt_ros.ros.distance_node'}
    return {name: [sys.executable, '-m', module, '--ros-args', '--params-file', str(config),
                   '-r', f'__ns:={namespace}'] for name, module in modules.items()}


def check_options(args):
    """Raise ValueError naming the fix for options the chain cannot run with."""
    if args.cameras != 1:
        raise ValueError('bench chain runs one camera (--cameras 1); several cameras into '
                         'one depth node are measured by `bench ros --cameras N`')
    if not Path(args.yolo_model).is_file():
        raise ValueError(f"--yolo-model '{args.yolo_model}' is not a file: give a YOLO export "
                         '(.onnx, .torchscript); benchmarks/yolo_stand_in.py builds a stand-in')
    detection3d_type()


def run_chain(args) -> Dict[str, object]:
    output_type = detection3d_type()
    namespace = f'{NAMESPACE}/{CAMERA}'
    node_ids = [f'{namespace}/{name}' for name in NODES]

    def start_nodes(children: Processes, log_dir: Path):
        config = log_dir / 'chain.yaml'
        config.write_text(yaml.safe_dump(chain_parameters(args), sort_keys=False))
        return [children.start(name, command, cpus=args.node_cpus)
                for name, command in node_commands(args, config, namespace).items()]

    run = run_graph(args, [namespace], node_ids, start_nodes, [('detections_3d', output_type)])
    results = chain_results(run.sent[0], run.arrivals[namespace],
                            {name: run.before[id] for name, id in zip(NODES, node_ids)},
                            {name: run.after[id] for name, id in zip(NODES, node_ids)})
    results.update(gpu_memory_peak_mib=run.gpu_memory_peak_mib, logs=str(run.log_dir),
                   transport=transport_name(args),
                   processes='one (pipeline)' if args.in_process else 'one per node')
    return results


def chain_baseline(args, frames):
    """Return the seed-stack baseline: from ``--baseline`` (a chain result), measured, or none."""
    from depth_trt_ros.tools.bench.seed_stack import measure_seed_stack

    if args.baseline:
        report = json.loads(Path(args.baseline).read_text())
        if report.get('mode') != 'chain':
            raise ValueError(f"--baseline {args.baseline} is a '{report.get('mode')}' result: "
                             'bench chain takes its seed-stack baseline from a chain result')
        return report['baseline']
    if args.baseline_iterations <= 0:
        return None
    return measure_seed_stack(frames, args, args.baseline_iterations, min(args.warmup, 3))
