"""
A stand-in for the TensorRT 10 engine API that the engine readers touch (no GPU needed).

``StandInEngine`` describes its tensors as a real deserialized engine does
(names, I/O mode, dtype, shape with -1 for dynamic axes, profile 0);
``StandInRuntime`` records the plan bytes it was handed.
"""
from types import SimpleNamespace
from typing import Dict, Optional, Sequence, Tuple

INPUT, OUTPUT = 'INPUT', 'OUTPUT'
TensorIOMode = SimpleNamespace(INPUT=INPUT, OUTPUT=OUTPUT)


class StandInEngine:
    """``tensors``: name -> (mode, TensorRT dtype name, shape); ``profile``: min/opt/max."""

    def __init__(self, tensors: Dict[str, Tuple[str, str, Sequence[int]]],
                 profile: Optional[Sequence[Sequence[int]]] = None):
        self.tensors = tensors
        self.profile = profile

    @property
    def num_io_tensors(self) -> int:
        return len(self.tensors)

    def get_tensor_name(self, index: int) -> str:
        return list(self.tensors)[index]

    def get_tensor_mode(self, name: str) -> str:
        return self.tensors[name][0]

    def get_tensor_dtype(self, name: str):
        return SimpleNamespace(name=self.tensors[name][1])

    def get_tensor_shape(self, name: str) -> Tuple[int, ...]:
        return tuple(self.tensors[name][2])

    def get_tensor_profile_shape(self, name: str, profile_index: int):
        assert self.tensors[name][0] == INPUT and profile_index == 0
        return [tuple(shape) for shape in self.profile]


def image_engine(input_name: str, output_name: str, input_shape, output_shape,
                 dtype: str = 'FLOAT', profile=None) -> StandInEngine:
    """One image input and one output, as every engine the backend runs has."""
    return StandInEngine({input_name: (INPUT, dtype, input_shape),
                          output_name: (OUTPUT, dtype, output_shape)}, profile)


class StandInRuntime:
    """Deserializes ``engines[plan]``; None (TensorRT's failure) for any other bytes."""

    def __init__(self, engines: Dict[bytes, StandInEngine]):
        self.engines = engines
        self.received = []

    def deserialize_cuda_engine(self, plan: bytes):
        self.received.append(bytes(plan))
        return self.engines.get(bytes(plan))
