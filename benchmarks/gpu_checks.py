#!/usr/bin/env python3
"""
GPU checks of the detector path that CI cannot make: TorchScript YOLO on CUDA with graphs.

Prints one JSON line per precision: the NMS used (torchvision where it imports),
whether the forward pass replays as a CUDA graph, and the stage times of the
last of 50 frames. Run from the repository root with the test helpers on the path.
"""
import json
from pathlib import Path
import sys
import tempfile

import numpy as np

from depth_trt_ros.inference.detection.yolo import load_yolo_backend, YoloDetector
from depth_trt_ros.tools.yolo_layout import tiny_yolo_model


def main() -> int:
    path = tiny_yolo_model(Path(tempfile.mkdtemp()) / 'tiny.torchscript', ['a', 'b', 'c'])
    frame = np.random.default_rng(0).integers(0, 255, (480, 640, 3), np.uint8)
    for precision in ('fp32', 'fp16'):
        detector = YoloDetector(load_yolo_backend('auto', str(path), 'cuda', precision))
        for _ in range(50):
            result = detector.detect(frame)
        print(json.dumps({'precision': precision, **detector.describe(),
                          **detector.backend.info().detail, 'detections': len(result),
                          'timings_ms': {k: round(v, 3) for k, v in result.timings_ms.items()}}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
