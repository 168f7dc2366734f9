"""
A YOLO11n-sized stand-in with random weights, for GPU benchmarks without ultralytics.

Not YOLO11n: a plain conv net (conv + SiLU, residual bottlenecks, an upsampling
neck) of YOLO11n's size at 640 -- 2.64 M parameters, 6.5 GFLOPs, but 50
convolutions where YOLO11n has about 90 -- with ultralytics' head output
``[1, 4 + 80, 8400]`` (box centre and size in network pixels, then class scores).
The class scores are calibrated so that a bench frame has ~150 candidates above
0.25 (not 8,400), and neighbouring anchors predict alike, overlapping boxes, so
that NMS leaves a scene's worth (~25), as around real objects. Saved as
ultralytics saves its exports: TorchScript with the metadata in ``config.txt``,
ONNX with input ``images``, output ``output0`` and metadata_props.

    python benchmarks/yolo_stand_in.py OUT_PREFIX [--size 640] [--classes 80]

writes OUT_PREFIX.torchscript and OUT_PREFIX.onnx and prints their size and detections.
"""
import argparse
from pathlib import Path
import warnings

import torch
from torch import nn

from depth_trt_ros.tools.bench.seed_stack import PlainYolo
from depth_trt_ros.tools.yolo_layout import export_torchscript, export_yolo

STRIDES = (8, 16, 32)
HEAD_WIDTH = 48
# Boxes span ~BOX_SCALE / 2 cells: neighbouring candidates overlap, as around one object.
BOX_SCALE = 16
# Anchors whose best class score passes 0.25 on a bench frame, as with a real scene.
CANDIDATES = 150
SCORE_LOGIT = -1.0986  # logit(0.25)


def conv(inputs: int, outputs: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, kernel, stride, kernel // 2), nn.SiLU())


class Bottleneck(nn.Module):
    """1x1 squeeze, 3x3 expand, residual add (the C3k2 blocks' inner unit)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv(channels, channels // 2, 1), conv(channels // 2, channels))

    def forward(self, features):
        return features + self.body(features)


def stage(inputs: int, outputs: int, blocks: int) -> nn.Sequential:
    """Downsample by 2, then ``blocks`` bottlenecks."""
    bottlenecks = (Bottleneck(outputs) for _ in range(blocks))
    return nn.Sequential(conv(inputs, outputs, stride=2), *bottlenecks)


class YoloStandIn(nn.Module):
    """Backbone to strides 8/16/32, a top-down neck, one head per level, decoded output."""

    def __init__(self, classes: int = 80, widths=(16, 32, 64, 128, 256), blocks=(1, 1, 2, 4, 4)):
        super().__init__()
        channels = (3,) + tuple(widths)
        self.stages = nn.ModuleList(stage(channels[i], channels[i + 1], blocks[i])
                                    for i in range(len(widths)))
        p3, p4, p5 = widths[2:]
        self.lateral5 = conv(p5, p4, 1)
        self.merge4 = nn.Sequential(conv(2 * p4, p4, 1), Bottleneck(p4), Bottleneck(p4))
        self.lateral4 = conv(p4, p3, 1)
        self.merge3 = nn.Sequential(conv(2 * p3, p3, 1), Bottleneck(p3), Bottleneck(p3))
        self.heads = nn.ModuleList(
            nn.Sequential(conv(width, HEAD_WIDTH), conv(HEAD_WIDTH, HEAD_WIDTH),
                          nn.Conv2d(HEAD_WIDTH, 4 + classes, 1),
                          # Neighbouring anchors then predict alike, as around a real object,
                          # so that NMS has overlapping boxes of one object to suppress.
                          nn.AvgPool2d(7, 1, 3, count_include_pad=False))
            for width in (p3, p4, p5))

    def head_outputs(self, images):
        """Raw outputs per level: box (4 channels) and class logits."""
        features = images
        levels = []
        for index, layer in enumerate(self.stages):
            features = layer(features)
            if index >= 2:
                levels.append(features)
        p3, p4, p5 = levels
        up5 = nn.functional.interpolate(self.lateral5(p5), scale_factor=2.0)
        p4 = self.merge4(torch.cat((up5, p4), dim=1))
        up4 = nn.functional.interpolate(self.lateral4(p4), scale_factor=2.0)
        p3 = self.merge3(torch.cat((up4, p3), dim=1))
        return [head(level) for head, level in zip(self.heads, (p3, p4, p5))]

    def forward(self, images):
        outputs = []
        for raw, stride in zip(self.head_outputs(images), STRIDES):
            # Cell indices from the tensor itself: a trace then follows it to any device.
            ones = torch.ones_like(raw[:, :1])
            cells = torch.cat((ones.cumsum(3), ones.cumsum(2)), dim=1) - 0.5
            centre = (cells + torch.tanh(raw[:, :2])) * stride
            size = torch.sigmoid(raw[:, 2:4]) * BOX_SCALE * stride
            outputs.append(torch.cat((centre, size, torch.sigmoid(raw[:, 4:])), 1).flatten(2))
        return torch.cat(outputs, dim=2)


def calibrate_scores(model: YoloStandIn, images: torch.Tensor, candidates: int = CANDIDATES):
    """
    Scale and shift the class logits so that about ``candidates`` anchors pass 0.25.

    Random weights give almost constant logits (every anchor or none passes); this
    sets each level's to unit spread, then moves its best classes' quantile to the
    threshold, so that each level holds its share of the candidates.
    """
    with torch.no_grad():
        levels = _levels(model, images)
        anchors = sum(level.shape[-2] * level.shape[-1] for level in levels)
        for head, level in zip(model.heads, levels):
            logits = head(level)[0, 4:].flatten(1)
            mean, spread = logits.mean(), logits.std()
            best = ((logits - mean) / spread).max(dim=0).values
            shift = SCORE_LOGIT - torch.quantile(best, 1 - candidates / anchors)
            # The pooling after the 1x1 conv is linear: scaling the conv scales the scores.
            classifier = head[-2]
            classifier.weight[4:] /= spread
            classifier.bias[4:] = (classifier.bias[4:] - mean) / spread + shift


def _levels(model: YoloStandIn, images: torch.Tensor):
    """Return the features each head sees, captured with hooks."""
    captured = []
    hooks = [head.register_forward_pre_hook(lambda _, inputs: captured.append(inputs[0]))
             for head in model.heads]
    model.head_outputs(images)
    for hook in hooks:
        hook.remove()
    return captured


def bench_frame(size: int) -> torch.Tensor:
    """Return a bench frame (640x480, tools/bench/frames.py) resized to the network."""
    import cv2

    from depth_trt_ros.tools.bench.frames import synthetic_frames

    frame = cv2.resize(synthetic_frames(640, 480, 1)[0], (size, size))
    return torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255


def metadata(size: int, classes: int):
    return {'names': {i: f'class{i}' for i in range(classes)}, 'imgsz': [size, size],
            'stride': max(STRIDES), 'task': 'detect', 'batch': 1,
            'description': 'YOLO11n-sized stand-in, random weights (benchmarks/yolo_stand_in.py)'}


def build(prefix: Path, size: int = 640, classes: int = 80):
    """Write PREFIX.torchscript and PREFIX.onnx; return their paths and the model."""
    torch.manual_seed(0)
    model = YoloStandIn(classes).eval()
    calibrate_scores(model, bench_frame(size))
    info = metadata(size, classes)
    network = (size, size)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # tracer warnings: the graph has no data-dependent flow
        scripted = export_torchscript(model, prefix.with_suffix('.torchscript'), network, info)
    # ONNX metadata_props are text, as ultralytics writes them.
    onnx_path = export_yolo(model, prefix.with_suffix('.onnx'), network,
                            {key: str(value) for key, value in info.items()})
    return scripted, onnx_path, model


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('prefix', type=Path)
    parser.add_argument('--size', type=int, default=640)
    parser.add_argument('--classes', type=int, default=80)
    args = parser.parse_args()
    args.prefix.parent.mkdir(parents=True, exist_ok=True)
    scripted, onnx_path, model = build(args.prefix, args.size, args.classes)
    parameters = sum(p.numel() for p in model.parameters())
    convolutions = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    frame = bench_frame(args.size)
    with torch.no_grad():
        output = model(frame)
    candidates = int((output[0, 4:].max(dim=0).values > 0.25).sum())
    # The saved file as the seed-stack baseline runs it: the export works, NMS leaves this many.
    image = (frame[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    boxes, _ = PlainYolo(str(scripted), torch.device('cpu'))(image)
    print(f'{scripted} {onnx_path}: {parameters / 1e6:.2f} M parameters, {convolutions} '
          f'convolutions, output {list(output.shape)}; on a bench frame {candidates} '
          f'candidates > 0.25, {len(boxes)} boxes after NMS')


if __name__ == '__main__':
    main()
