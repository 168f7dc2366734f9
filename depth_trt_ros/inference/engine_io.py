"""
An engine's input and output as the deserialized engine itself describes them.

Names, dtypes, shapes and the optimization profile are read from the
engine, so engines this package did not build (ultralytics YOLO, trtexec
Depth-Anything) run through the same backend. Duck-typed on the TensorRT 10
engine API, so tests drive it with a stand-in engine and no GPU.
"""
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from depth_trt_ros.inference.backends.base import ModelLoadError
from depth_trt_ros.inference.engine_profile import EngineProfile, Shape
from depth_trt_ros.inference.tensorrt_runtime import dtype_name


@dataclass(frozen=True)
class EngineIO:
    """One image input ``[B, 3, H, W]`` (with its profile) and one output."""

    input_name: str
    output_name: str
    input_dtype: str
    output_dtype: str
    output_shape: Shape
    profile: EngineProfile

    @property
    def fixed_size(self) -> Optional[Tuple[int, int]]:
        """``(height, width)`` if the engine takes only one image size, else None."""
        low, high = self.profile.min_shape[2:], self.profile.max_shape[2:]
        return tuple(low) if low == high else None

    def describe(self) -> str:
        """``images float32 (batch 1-1, height 640-640, width 640-640) -> output0 ...``."""
        return (f'{self.input_name} {self.input_dtype} ({self.profile.describe()}) -> '
                f'{self.output_name} {self.output_dtype} {list(self.output_shape)}')


def deserialize_engine(runtime, plan: bytes, source: str, advice: str):
    """
    Hand ``plan`` (the bytes after any metadata) to a TensorRT runtime; return the engine.

    ``advice`` completes the error when TensorRT refuses the plan.
    """
    engine = runtime.deserialize_cuda_engine(plan)
    if engine is None:
        raise ModelLoadError(f'TensorRT could not deserialize {source} (see the TensorRT '
                             f'messages above): {advice}')
    return engine


def _input_profile(engine, name: str, shape: Sequence[int]) -> EngineProfile:
    """Return a static shape as its own profile, a dynamic one's optimization profile 0."""
    if all(dim >= 0 for dim in shape):
        return EngineProfile(tuple(shape), tuple(shape), tuple(shape))
    low, opt, high = (tuple(int(d) for d in dims)
                      for dims in engine.get_tensor_profile_shape(name, 0))
    return EngineProfile(low, opt, high)


def read_engine_io(engine, input_mode, source: str) -> EngineIO:
    """
    Describe ``engine``'s tensors; refuse one that is not image in, one tensor out.

    ``input_mode`` is the TensorRT module's ``TensorIOMode.INPUT``;
    ``source`` names the engine in errors.
    """
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    inputs = [name for name in names if engine.get_tensor_mode(name) == input_mode]
    outputs = [name for name in names if name not in inputs]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelLoadError(f'{source} has inputs {inputs} and outputs {outputs}; the tensorrt '
                             'backend runs engines with one image input and one output: '
                             're-export the model without extra outputs (e.g. nms=False)')
    input_name, output_name = inputs[0], outputs[0]
    shape = tuple(int(d) for d in engine.get_tensor_shape(input_name))
    if len(shape) != 4 or shape[1] != 3:
        raise ModelLoadError(f"{source} input '{input_name}' has shape {list(shape)}, not an "
                             'image batch [B, 3, H, W]: re-export the model with RGB input')
    return EngineIO(
        input_name, output_name,
        dtype_name(engine.get_tensor_dtype(input_name)),
        dtype_name(engine.get_tensor_dtype(output_name)),
        tuple(int(d) for d in engine.get_tensor_shape(output_name)),
        _input_profile(engine, input_name, shape))
