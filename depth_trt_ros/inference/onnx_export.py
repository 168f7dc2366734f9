"""Export a Depth-Anything model to ONNX with dynamic batch, height and width."""
from contextlib import contextmanager
from pathlib import Path
import types
import warnings

import torch

from depth_trt_ros.inference.backends.base import INPUT_NAME, OUTPUT_NAME
from depth_trt_ros.inference.model import depth_metadata
from depth_trt_ros.inference.preprocess import PATCH_MULTIPLE

DEFAULT_OPSET = 18


def _symbolic_head_forward(head, hidden_states, patch_height, patch_width):
    """Run transformers' head without the ``int()`` that pins the output size on export."""
    depth = head.conv1(hidden_states[head.head_in_index])
    depth = torch.nn.functional.interpolate(
        depth, (patch_height * head.patch_size, patch_width * head.patch_size),
        mode='bilinear', align_corners=True)
    depth = head.activation1(head.conv2(depth))
    depth = head.activation2(head.conv3(depth)) * head.max_depth
    return depth.squeeze(dim=1)


@contextmanager
def _dynamic_output_size(model):
    head = model.head
    head.forward = types.MethodType(_symbolic_head_forward, head)
    try:
        yield
    finally:
        del head.forward


class _DepthOnly(torch.nn.Module):
    """Return only ``predicted_depth`` so the graph has one named output."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model(pixel_values=pixel_values).predicted_depth


def export_onnx(model, path, sample_size=(518, 686), opset: int = DEFAULT_OPSET,
                fp16: bool = False) -> Path:
    """
    Write ``model`` to ``path``: input ``pixel_values`` [B,3,H,W], output ``predicted_depth``.

    ``fp16`` stores weights and I/O in half precision, for strongly typed
    TensorRT networks. Export runs on the CPU in fp32 unless ``fp16`` is set
    and CUDA is present.
    """
    height, width = sample_size
    if height % PATCH_MULTIPLE or width % PATCH_MULTIPLE:
        raise ValueError(f'sample size {height}x{width} must be a multiple of {PATCH_MULTIPLE}')
    device = torch.device('cuda' if fp16 and torch.cuda.is_available() else 'cpu')
    dtype = torch.float16 if fp16 else torch.float32
    if fp16 and device.type == 'cpu':
        raise ValueError('an fp16 ONNX export needs CUDA; export fp32 and let TensorRT '
                         'build fp16 kernels instead')
    wrapper = _DepthOnly(model.to(device=device, dtype=dtype).eval())
    # A batch of 2 keeps torch.export from specialising the batch dimension to 1.
    sample = torch.randn(2, 3, height, width, device=device, dtype=dtype)
    rows = torch.export.Dim('rows', min=1, max=512)
    cols = torch.export.Dim('cols', min=1, max=512)
    dynamic = {INPUT_NAME: {0: torch.export.Dim('batch', min=1, max=64),
                            2: PATCH_MULTIPLE * rows, 3: PATCH_MULTIPLE * cols}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.inference_mode(), _dynamic_output_size(model):
        warnings.simplefilter('ignore')
        torch.onnx.export(
            wrapper, (sample,), str(path), input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME], opset_version=opset, dynamo=True,
            dynamic_shapes=dynamic, external_data=False, verbose=False)
    _write_metadata(path, model)
    return path


def _write_metadata(path: Path, model):
    """Record what the runtime cannot infer from the graph: units and scale of the output."""
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in depth_metadata(model).items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))
