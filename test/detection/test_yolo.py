"""YOLO core: letterbox, NMS and decoding checked against hand-computed boxes."""
import numpy as np
import pytest
import torch

from depth_trt_ros.inference.backends.base import ModelLoadError
from depth_trt_ros.inference.detection.letterbox import Letterbox, letterbox_geometry
from depth_trt_ros.inference.detection.nms import batched_nms, box_iou, nms
from depth_trt_ros.inference.detection.yolo import (decode, DetectionSettings,
                                                    load_class_names, load_yolo_backend,
                                                    parse_class_names, YoloDetector)
from depth_trt_ros.tools.yolo_layout import constant_boxes_model, head_output, tiny_yolo_model

# Network-pixel cx, cy, w, h with per-class scores (classes: person, car).
BOXES = [(320, 320, 100, 50), (325, 322, 100, 50), (500, 100, 40, 40), (320, 320, 100, 50),
         (100, 500, 20, 20)]
SCORES = [(0.9, 0.1), (0.8, 0.0), (0.7, 0.2), (0.05, 0.6), (0.2, 0.1)]
NAMES = ['person', 'car']


def test_box_iou_by_hand():
    first = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    second = torch.tensor([[5.0, 0.0, 15.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    assert box_iou(first, second).tolist() == [[pytest.approx(50 / 150), 0.0]]


def test_nms_is_greedy_not_fast_nms():
    # a suppresses b; b would suppress c, but b is gone, so c stays (Fast NMS drops c).
    boxes = torch.tensor([[0.0, 0, 10, 10], [4, 0, 14, 10], [8, 0, 18, 10]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert nms(boxes, scores, 0.3).tolist() == [0, 2]


def test_batched_nms_keeps_overlapping_boxes_of_other_classes():
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    kept = batched_nms(boxes, scores, torch.tensor([0, 0, 1]), 0.5)
    assert kept.tolist() == [0, 2]


def test_decode_filters_and_suppresses_as_computed_by_hand():
    output = head_output(BOXES, SCORES, anchors=8)
    boxes, scores, class_ids = decode(output, DetectionSettings(confidence=0.25, iou=0.45))[0]
    # Box 1 overlaps box 0 (IoU 0.83) in the same class; box 3 is a car; box 4 is too weak.
    assert scores.tolist() == pytest.approx([0.9, 0.7, 0.6])
    assert class_ids.tolist() == [0, 0, 1]
    assert boxes.tolist() == [[270, 295, 370, 345], [480, 80, 520, 120], [270, 295, 370, 345]]


def test_decode_class_filter_and_max_detections():
    output = head_output(BOXES, SCORES, anchors=8)
    _, _, cars = decode(output, DetectionSettings(classes=(1,)))[0]
    assert cars.tolist() == [1]
    _, scores, _ = decode(output, DetectionSettings(max_detections=2))[0]
    assert scores.tolist() == pytest.approx([0.9, 0.7])


def test_letterbox_geometry_matches_ultralytics_rule():
    geometry = letterbox_geometry(480, 640, (640, 640))
    assert (geometry.scale, geometry.resized, geometry.pad_left, geometry.pad_top) == \
        (1.0, (480, 640), 0, 80)
    odd = letterbox_geometry(481, 640, (640, 640))
    assert (odd.pad_top, 640 - odd.resized[0] - odd.pad_top) == (79, 80)


def test_letterbox_pads_grey_and_keeps_the_image():
    frame = torch.full((1, 240, 640, 3), 255, dtype=torch.uint8)
    pixels, geometry = Letterbox((320, 320))(frame)
    assert pixels.shape == (1, 3, 320, 320) and geometry.scale == 0.5
    assert pixels[0, :, 0, 0].tolist() == pytest.approx([114 / 255] * 3)
    assert pixels[0, :, 160, 160].tolist() == pytest.approx([1.0] * 3)


def test_detector_maps_boxes_back_to_the_image(tmp_path):
    model = constant_boxes_model(tmp_path / 'constant.onnx', BOXES, SCORES, NAMES)
    detector = YoloDetector(load_yolo_backend('auto', str(model), 'cpu', 'fp32'))
    result = detector.detect(np.zeros((480, 640, 3), dtype=np.uint8))
    # The 640x480 frame sits 80 px below the top of the 640x640 input.
    np.testing.assert_allclose(result.boxes[0], [270, 215, 370, 265])
    assert [result.label(i) for i in range(len(result))] == ['person', 'person', 'car']
    assert set(result.timings_ms) == {'preprocess', 'infer', 'postprocess'}


def test_class_names_from_yaml_override_metadata(tmp_path):
    names_file = tmp_path / 'names.yaml'
    names_file.write_text('names:\n  0: human\n  1: vehicle\n')
    model = constant_boxes_model(tmp_path / 'constant.onnx', BOXES, SCORES, NAMES)
    detector = YoloDetector(load_yolo_backend('onnxruntime', str(model), 'cpu', 'fp32'),
                            class_names=load_class_names(str(names_file)))
    assert detector.class_names == ['human', 'vehicle']


def test_tiny_yolo_runs_end_to_end(tmp_path):
    model = tiny_yolo_model(tmp_path / 'tiny.onnx', ['a', 'b', 'c'])
    detector = YoloDetector(load_yolo_backend('auto', str(model), 'cpu', 'fp32'),
                            DetectionSettings(confidence=0.0, max_detections=5))
    result = detector.detect(np.random.default_rng(0).integers(0, 255, (90, 160, 3), np.uint8))
    assert 1 <= len(result) <= 5 and result.boxes.shape == (len(result), 4)
    assert (result.boxes[:, 2:] <= [160, 90]).all() and (result.boxes >= 0).all()


@pytest.mark.parametrize('text, names', [("{0: 'a', 2: 'c'}", ['a', '1', 'c']),
                                         ("['x', 'y']", ['x', 'y'])])
def test_parse_class_names(text, names):
    assert parse_class_names(text) == names


def test_bad_settings_and_models_are_refused(tmp_path):
    with pytest.raises(ValueError, match='confidence'):
        DetectionSettings(confidence=1.5)
    with pytest.raises(ModelLoadError, match='onnx'):
        load_yolo_backend('auto', 'yolo11n.pt', 'cpu', 'fp32')
    with pytest.raises(ModelLoadError, match='onnx'):
        load_yolo_backend('auto', 'yolo11n.engine', 'cuda', 'fp16')
    garbage = tmp_path / 'garbage.onnx'
    garbage.write_bytes(b'not a model')
    # The advice is the YOLO export, not depth-trt-ros export (Depth-Anything only).
    for path in (garbage, tmp_path / 'missing.onnx'):
        with pytest.raises(ModelLoadError, match='docs/detection.md describes'):
            load_yolo_backend('auto', str(path), 'cpu', 'fp32')
