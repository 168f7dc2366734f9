"""
Small YOLO-layout ONNX and TorchScript models for tests and the demo, without ultralytics.

They have what detector_node reads in an ultralytics export: input ``images``
``[1, 3, H, W]``, output ``output0`` ``[1, 4 + C, anchors]``, and ``names`` and
``imgsz`` metadata. None is trained:

- ``constant_boxes_model`` outputs fixed, known predictions whatever the
  image, so decoding and NMS can be checked against hand-computed boxes;
- ``tiny_yolo_model`` is a strided conv net with random weights;
- ``patch_finder_model``, for the demo when no YOLO model is at hand, marks
  the brightest and darkest patches of the image: boxes that follow the
  picture, with honest class names, but not objects.
"""
import json
from pathlib import Path
from typing import Dict, Sequence, Tuple
import warnings

import onnx
import torch

STRIDES = (8, 16, 32)


def head_output(boxes: Sequence[Tuple[float, float, float, float]],
                scores: Sequence[Sequence[float]], anchors: int) -> torch.Tensor:
    """``[1, 4 + C, anchors]``: the given cx,cy,w,h boxes and class scores, zeros after."""
    classes = len(scores[0])
    output = torch.zeros(1, 4 + classes, anchors)
    for index, (box, box_scores) in enumerate(zip(boxes, scores)):
        output[0, :4, index] = torch.tensor(box)
        output[0, 4:, index] = torch.tensor(box_scores)
    return output


class ConstantHead(torch.nn.Module):
    """
    Returns a fixed head output, whatever the image.

    ``gated``: the class scores drop to zero for dark images (mean below 0.5),
    so a black frame has no detections and a white one has them all.
    """

    def __init__(self, output: torch.Tensor, gated: bool = False):
        super().__init__()
        self.register_buffer('output', output)
        self.gated = gated

    def forward(self, images):
        if not self.gated:
            return self.output + 0.0 * images.mean()
        gate = (images.mean() > 0.5).to(images.dtype)
        return torch.cat((self.output[:, :4], self.output[:, 4:] * gate), dim=1)


class TinyYolo(torch.nn.Module):
    """Three strided feature maps -> ``[B, 4 + C, sum(HW / stride^2)]``, as YOLOv8's head."""

    def __init__(self, classes: int):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 8, 3, stride=8, padding=1)
        self.down = torch.nn.ModuleList(torch.nn.Conv2d(8, 8, 3, stride=2, padding=1)
                                        for _ in STRIDES[1:])
        self.head = torch.nn.Conv2d(8, 4 + classes, 1)

    def forward(self, images):
        feature = torch.relu(self.stem(images))
        levels = [feature]
        for layer in self.down:
            feature = torch.relu(layer(feature))
            levels.append(feature)
        flat = [self.head(level).flatten(2) for level in levels]
        output = torch.cat(flat, dim=2)
        size = torch.sigmoid(output[:, :4]) * images.shape[-1]
        return torch.cat((size, torch.sigmoid(output[:, 4:])), dim=1)


def export_yolo(model: torch.nn.Module, path: Path, network: Tuple[int, int],
                metadata: Dict[str, str]) -> Path:
    """Export like ultralytics: input ``images``, output ``output0``, metadata_props."""
    sample = torch.zeros(1, 3, *network)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(model.eval(), (sample,), str(path), input_names=['images'],
                          output_names=['output0'], opset_version=17, dynamo=False)
    proto = onnx.load(str(path))
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))
    return path


def export_torchscript(model: torch.nn.Module, path: Path, network: Tuple[int, int],
                       metadata: Dict[str, object]) -> Path:
    """Trace like ultralytics ``format=torchscript``: metadata as JSON in ``config.txt``."""
    traced = torch.jit.trace(model.eval(), torch.zeros(1, 3, *network))
    torch.jit.save(traced, str(path), _extra_files={'config.txt': json.dumps(metadata)})
    return path


def _metadata(names: Sequence[str], network: Tuple[int, int]) -> Dict[str, str]:
    return {'names': str(dict(enumerate(names))), 'imgsz': str(list(network))}


def constant_boxes_model(path: Path, boxes, scores, names: Sequence[str],
                         network: Tuple[int, int] = (640, 640), anchors: int = 16,
                         gated: bool = False) -> Path:
    metadata = dict(_metadata(names, network), task='detect')
    return export_yolo(ConstantHead(head_output(boxes, scores, anchors), gated), path, network,
                       metadata)


def tiny_yolo_model(path: Path, names: Sequence[str], network=(320, 320)) -> Path:
    """Export the same seeded TinyYolo as ``.onnx`` or, by the suffix, ``.torchscript``."""
    torch.manual_seed(0)
    model = TinyYolo(len(names))
    if path.suffix == '.torchscript':
        # Ultralytics writes JSON: names keyed by strings, imgsz a list, the stride.
        metadata = {'names': dict(enumerate(names)), 'imgsz': list(network), 'stride': 32,
                    'task': 'detect'}
        return export_torchscript(model, path, network, metadata)
    return export_yolo(model, path, network, _metadata(names, network))


class PatchFinder(torch.nn.Module):
    """
    Fixed weights: one box per grid cell, scored by its brightness against the image's.

    A cell scores once it is brighter or darker than the image's mean by a tenth of the
    full range. Flat cells (a letterbox's grey border) never score, so padding gets no
    boxes.
    """

    NAMES = ('bright', 'dark')

    def __init__(self, network: Tuple[int, int], cell: int = 128):
        super().__init__()
        self.cell = cell
        rows, cols = network[0] // cell, network[1] // cell
        y, x = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing='ij')
        size = torch.full((rows * cols,), cell)
        boxes = torch.stack(((x.flatten() + 0.5) * cell, (y.flatten() + 0.5) * cell, size, size))
        self.register_buffer('boxes', boxes.float().unsqueeze(0))

    def forward(self, images):
        luma = images.mean(1, keepdim=True)
        mean = torch.nn.functional.avg_pool2d(luma, self.cell).flatten(1)
        spread = torch.nn.functional.avg_pool2d(luma * luma, self.cell).flatten(1) - mean * mean
        textured = (spread > 1e-4).to(images.dtype)
        offset = mean - mean.mean(dim=1, keepdim=True)
        scores = torch.stack((torch.sigmoid(30 * (offset - 0.1)),
                              torch.sigmoid(30 * (-offset - 0.1))), dim=1) * textured.unsqueeze(1)
        return torch.cat((self.boxes.expand(images.shape[0], -1, -1), scores), dim=1)


def patch_finder_model(path: Path, network=(640, 640)) -> Path:
    """Write the demo's stand-in detector (see :class:`PatchFinder`) to ``path``."""
    metadata = dict(_metadata(PatchFinder.NAMES, network), task='detect')
    return export_yolo(PatchFinder(network), path, network, metadata)
