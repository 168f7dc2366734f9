"""
Parameters of the depth node: one table of names, defaults, ranges and help.

Every parameter is declared with a ParameterDescriptor so that rclpy enforces
ranges and ``ros2 param describe`` shows the text; choices are checked here and
a wrong value stops start-up with a message naming the parameter and the fix.
"""
from dataclasses import dataclass, fields, replace as replace_fields
from typing import Dict, Optional, Tuple

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

from depth_trt_ros.inference.backends import BACKEND_NAMES
from depth_trt_ros.inference.model import DEFAULT_MODEL
from depth_trt_ros.inference.postprocess import COLORMAPS

RELIABILITIES = ('auto', 'best_effort', 'reliable')


@dataclass(frozen=True)
class Spec:
    """How one parameter is declared and checked."""

    default: object
    description: str
    choices: Tuple = ()
    int_range: Optional[Tuple[int, int, int]] = None
    float_range: Optional[Tuple[float, float]] = None
    needs_reload: bool = False


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
    'frame_skip': Spec(0, 'Process one frame, then skip this many', int_range=(0, 100, 1)),
    'colormap': Spec('inferno', 'Colormap of depth/colorized', tuple(sorted(COLORMAPS))),
    'publish_colorized': Spec(True, 'Publish depth/colorized (only computed while '
                              'someone subscribes)'),
    'image_transport': Spec('raw', "'raw' subscribes image (sensor_msgs/Image); "
                            "'compressed' subscribes image/compressed",
                            ('raw', 'compressed')),
    'qos': Spec('auto', "Input reliability: 'auto' matches the camera's publishers, "
                "or best_effort / reliable", RELIABILITIES),
    'qos_depth': Spec(5, 'Input history depth', int_range=(1, 100, 1)),
    'output_qos': Spec('reliable', "Output reliability; 'reliable' reaches both reliable "
                       'and best-effort subscribers', ('best_effort', 'reliable')),
    'input_timeout': Spec(5.0, 'Seconds without input before diagnostics warn',
                          float_range=(0.1, 3600.0)),
    'autostart': Spec(True, 'Configure and activate at start-up (lifecycle); false waits '
                      'for a lifecycle manager'),
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
    frame_skip: int
    colormap: str
    publish_colorized: bool
    image_transport: str
    qos: str
    qos_depth: int
    output_qos: str
    input_timeout: float
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


def declare_all(node):
    for name, spec in SPECS.items():
        node.declare_parameter(name, spec.default, descriptor(name, spec))


def check_value(name: str, value) -> Optional[str]:
    """Return why ``value`` is wrong for ``name``, or None when it is fine."""
    spec = SPECS.get(name)
    if spec is None:
        return None
    if spec.choices and value not in spec.choices:
        return (f"parameter '{name}' is '{value}': set it to one of "
                f"{', '.join(spec.choices)}")
    if name == 'model_path' and not str(value).strip():
        return "parameter 'model_path' is empty: set a hub id, directory, .onnx or .engine"
    return None


def read_config(node) -> DepthNodeConfig:
    """Read and check every parameter; raise ValueError naming the first bad one."""
    values = {f.name: node.get_parameter(f.name).value for f in fields(DepthNodeConfig)}
    for name, value in values.items():
        problem = check_value(name, value)
        if problem:
            raise ValueError(problem)
    return DepthNodeConfig(**values)


def replace(config: DepthNodeConfig, updated: Dict[str, object]) -> DepthNodeConfig:
    """``config`` with the known parameters of ``updated`` changed."""
    known = {f.name for f in fields(DepthNodeConfig)}
    return replace_fields(config, **{k: v for k, v in updated.items() if k in known})


def needs_reload(name: str) -> bool:
    spec = SPECS.get(name)
    return bool(spec and spec.needs_reload)
