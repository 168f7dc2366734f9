"""
Parameters of the depth node: one table of names, defaults, ranges and help.

Every parameter is declared with a ParameterDescriptor so that rclpy enforces
ranges and ``ros2 param describe`` shows the text; choices are checked here and
a wrong value stops start-up with a message naming the parameter and the fix.

Each Spec also says how a change on a running node takes effect, the one
discipline of every node (ManagedNode applies it): read live where it is used
(the default), ``needs_reload`` (a new model, loaded while the old serves),
``restarts_input`` (the camera subscriptions are made again), or
``configure_only`` (refused with the lifecycle steps that apply it).
"""
from dataclasses import dataclass, fields, replace as replace_fields
from pathlib import Path
from typing import Dict, Optional, Tuple

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

from depth_trt_ros.inference.backends import BACKEND_NAMES, ENGINE_SUFFIXES
from depth_trt_ros.inference.estimator import require_metric
from depth_trt_ros.inference.model import DEFAULT_MODEL
from depth_trt_ros.inference.postprocess import COLORMAPS
from depth_trt_ros.ros.topics import channel_prefix

RELIABILITIES = ('auto', 'best_effort', 'reliable')
MODEL_FILE_SUFFIXES = ENGINE_SUFFIXES + ('.onnx',)


@dataclass(frozen=True)
class Spec:
    """How one parameter is declared and checked."""

    default: object
    description: str
    choices: Tuple = ()
    int_range: Optional[Tuple[int, int, int]] = None
    float_range: Optional[Tuple[float, float]] = None
    needs_reload: bool = False
    restarts_input: bool = False
    configure_only: bool = False


SPECS: Dict[str, Spec] = {
    'model_path': Spec(DEFAULT_MODEL, 'Hugging Face model id or directory, .onnx file, '
                       'TensorRT .engine, or random:small for random weights',
                       needs_reload=True),
    'backend': Spec('auto', 'Inference runtime; auto picks it from model_path',
                    BACKEND_NAMES, needs_reload=True),
    'device': Spec('auto', "'auto' (cuda if available, else cpu), 'cpu', 'cuda' or 'cuda:N'",
                   needs_reload=True),
    'precision': Spec('auto', 'fp16 or fp32; auto = fp16 on CUDA, fp32 on CPU',
                      ('auto', 'fp16', 'fp32'), needs_reload=True),
    'input_size': Spec(518, 'Network input size of the short image side (multiple of 14)',
                       int_range=(140, 2044, 14), needs_reload=True),
    'cuda_graph': Spec(True, 'Replay inference as a CUDA graph (torch/TensorRT on CUDA)',
                       needs_reload=True),
    'torch_compile': Spec(False, 'Compile the model with torch.compile (Inductor) before '
                          'graphing it: torch backend on CUDA only; ~25 s more per frame '
                          'size at start and when a new size first arrives (frames meanwhile '
                          'are dropped); 1.45x faster DA-V2-S on an H200', needs_reload=True),
    'frame_skip': Spec(0, 'Process one frame, then skip this many', int_range=(0, 100, 1)),
    'colormap': Spec('inferno', 'Colormap of depth/colorized', tuple(sorted(COLORMAPS))),
    'publish_colorized': Spec(True, 'Publish depth/colorized (only computed while '
                              'someone subscribes)'),
    'image_topics': Spec(['image'], 'Image topics to serve, one per camera; outputs go to '
                         'the same namespace (left/image -> left/depth). Frames that arrive '
                         'together run as one batch', configure_only=True),
    'max_batch': Spec(4, 'Most frames of equal size run in one inference call',
                      int_range=(1, 64, 1)),
    'image_transport': Spec('raw', "'raw' subscribes image (sensor_msgs/Image); "
                            "'compressed' subscribes image/compressed",
                            ('raw', 'compressed'), restarts_input=True),
    'qos': Spec('auto', "Input reliability: 'auto' matches the camera's publishers, "
                "or best_effort / reliable", RELIABILITIES, restarts_input=True),
    'qos_depth': Spec(1, 'Input history depth: frames DDS keeps while the node is busy; '
                      '1 = the node always takes the newest', int_range=(1, 100, 1),
                      restarts_input=True),
    'output_qos': Spec('reliable', "Output reliability; 'reliable' reaches both reliable "
                       'and best-effort subscribers', ('best_effort', 'reliable'),
                       configure_only=True),
    'input_timeout': Spec(5.0, 'Seconds without input before diagnostics warn',
                          float_range=(0.1, 3600.0)),
    'publish_depth_mm': Spec(False, 'Publish depth/mm (16UC1 millimetres, 0 = invalid); '
                             'needs a metric model', configure_only=True),
    'publish_points': Spec(False, 'Publish points (organized PointCloud2 from camera_info); '
                           'needs a metric model', configure_only=True),
    'points_rgb': Spec(True, 'Add the camera colour to points (xyzrgb instead of xyz)'),
    'autostart': Spec(True, 'Configure and activate at start-up (lifecycle); false waits '
                      'for a lifecycle manager', configure_only=True),
}


@dataclass(frozen=True)
class DepthNodeConfig:
    """The node's parameters, typed and validated."""

    model_path: str
    backend: str
    device: str
    precision: str
    input_size: int
    cuda_graph: bool
    torch_compile: bool
    frame_skip: int
    colormap: str
    publish_colorized: bool
    image_topics: Tuple[str, ...]
    max_batch: int
    image_transport: str
    qos: str
    qos_depth: int
    output_qos: str
    input_timeout: float
    publish_depth_mm: bool
    publish_points: bool
    points_rgb: bool
    autostart: bool


def descriptor(name: str, spec: Spec) -> ParameterDescriptor:
    text = spec.description
    if spec.choices:
        text += f" (one of: {', '.join(spec.choices)})"
    result = ParameterDescriptor(name=name, description=text)
    if spec.choices:
        result.additional_constraints = 'one of: ' + ', '.join(spec.choices)
    if spec.int_range:
        start, stop, step = spec.int_range
        result.integer_range = [IntegerRange(from_value=start, to_value=stop, step=step)]
    if spec.float_range:
        start, stop = spec.float_range
        result.floating_point_range = [FloatingPointRange(from_value=start, to_value=stop)]
    return result


def declare_all(node, specs: Dict[str, Spec] = SPECS):
    for name, spec in specs.items():
        node.declare_parameter(name, spec.default, descriptor(name, spec))


def choice_problem(name: str, value, spec: Spec) -> Optional[str]:
    """Return why ``value`` is not one of the choices of ``spec``, or None."""
    if spec.choices and value not in spec.choices:
        return (f"parameter '{name}' is '{value}': set it to one of "
                f"{', '.join(spec.choices)}")
    return None


def check_value(name: str, value, specs: Dict[str, Spec] = SPECS,
                configured: bool = False) -> Optional[str]:
    """Return why ``value`` is wrong for parameter ``name`` of ``specs`` (now), or None."""
    spec = specs.get(name)
    if spec is None:
        return None
    if configured and spec.configure_only:
        return (f"parameter '{name}' takes effect at configure: deactivate and clean up the "
                'node (lifecycle), set it, then configure again')
    problem = choice_problem(name, value, spec)
    if problem:
        return problem
    if name == 'model_path':
        return _check_model_path(str(value), spec)
    if name == 'image_topics':
        return _check_image_topics(list(value))
    return None


def check_values(values: Dict[str, object], specs: Dict[str, Spec]) -> Dict[str, object]:
    """Return ``values`` if each suits its parameter; else ValueError naming the first bad one."""
    for name, value in values.items():
        problem = check_value(name, value, specs)
        if problem:
            raise ValueError(problem)
    return values


def read_parameters(node, specs: Dict[str, Spec]) -> Dict[str, object]:
    """Every parameter of ``specs`` by name; raises ValueError naming the first bad one."""
    return check_values({name: node.get_parameter(name).value for name in specs}, specs)


def _check_model_path(path: str, spec: Spec) -> Optional[str]:
    """Refuse at once what cannot load: nothing, or a model file that is not there."""
    if not path.strip():
        return f"parameter 'model_path' is empty: set it ({spec.description})"
    if Path(path).suffix.lower() in MODEL_FILE_SUFFIXES and not Path(path).is_file():
        return f"parameter 'model_path': no file '{path}' (check the path, or export it first)"
    return None


def _check_image_topics(topics) -> Optional[str]:
    if not topics or any(not str(t).strip('/') for t in topics):
        return "parameter 'image_topics' needs at least one non-empty topic, e.g. ['image']"
    namespaces = [channel_prefix(topic).strip('/') for topic in topics]
    if len(set(namespaces)) != len(namespaces):
        return (f"parameter 'image_topics' {topics}: each camera needs its own namespace "
                "(outputs go beside the image topic), e.g. ['left/image', 'right/image']")
    return None


def read_config(node) -> DepthNodeConfig:
    """Read and check every parameter; raise ValueError naming the first bad one."""
    values = read_parameters(node, SPECS)
    values['image_topics'] = tuple(values['image_topics'])
    return DepthNodeConfig(**values)


def check_outputs(config: DepthNodeConfig):
    """Return a check that refuses metric-only outputs for a relative-depth model."""
    def check(metric: bool):
        if config.publish_depth_mm or config.publish_points:
            require_metric(metric, config.model_path,
                           'set publish_depth_mm and publish_points to false')
    return check


def replace(config: DepthNodeConfig, updated: Dict[str, object]) -> DepthNodeConfig:
    """``config`` with the known parameters of ``updated`` changed."""
    known = {f.name for f in fields(DepthNodeConfig)}
    return replace_fields(config, **{k: v for k, v in updated.items() if k in known})
