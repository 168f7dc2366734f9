"""YOLO core: letterbox, NMS and decoding checked against hand-computed boxes."""
import numpy as np
import pytest
import torch

from depth_trt_ros.inference.backends.base import ModelLoadError
from depth_trt_ros.inference.detection.letterbox import Letterbox, letterbox_geometry
from depth_trt_ros.inference.detection import nms as nms_module
from depth_trt_ros.inference.detection.nms import (batched_nms, box_iou, nms,
                                                   torch_batched_nms)
from depth_trt_ros.inference.detection.yolo import (candidates, class_mask, decode,
                                                    DetectionSettings, select,
                                                    load_class_names, load_yolo_backend,
                                                    parse_class_names, YoloDetector)
from depth_trt_ros.tools.yolo_layout import (constant_boxes_model, export_torchscript, head_output,
                                             tiny_yolo_model, TinyYolo)

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


@pytest.mark.parametrize('implementation', [batched_nms, torch_batched_nms],
                         ids=['default', 'torch-fallback'])
def test_batched_nms_keeps_overlapping_boxes_of_other_classes(implementation):
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    kept = implementation(boxes, scores, torch.tensor([0, 0, 1]), 0.5)
    assert kept.tolist() == [0, 2]
    assert implementation(boxes[:0], scores[:0], torch.tensor([], dtype=torch.long),
                          0.5).tolist() == []


@pytest.mark.skipif(nms_module.NMS_IMPLEMENTATION != 'torchvision',
                    reason=f'torchvision is not importable, NMS runs on '
                           f'{nms_module.NMS_IMPLEMENTATION}')
def test_torchvision_and_torch_fallback_keep_the_same_boxes():
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        centres = torch.rand(500, 2, generator=generator) * 640
        sizes = torch.rand(500, 2, generator=generator) * 120 + 4
        boxes = torch.cat((centres, centres + sizes), dim=1)
        scores = torch.rand(500, generator=generator)
        class_ids = torch.randint(0, 5, (500,), generator=generator)
        for iou in (0.3, 0.45, 0.7):
            assert batched_nms(boxes, scores, class_ids, iou).tolist() == \
                torch_batched_nms(boxes, scores, class_ids, iou).tolist()


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
    frame[..., 0] = 0
    letterbox = Letterbox((320, 320))
    assert letterbox.geometry(240, 640).scale == 0.5
    for bgr, colour in ((False, [0.0, 1.0, 1.0]), (True, [1.0, 1.0, 0.0])):
        pixels = letterbox(frame, bgr=bgr)
        assert pixels.shape == (1, 3, 320, 320)
        assert pixels[0, :, 0, 0].tolist() == pytest.approx([114 / 255] * 3)
        assert pixels[0, :, 160, 160].tolist() == pytest.approx(colour)


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


def test_torchscript_and_onnx_decode_the_same_boxes(tmp_path):
    frame = np.random.default_rng(1).integers(0, 255, (240, 320, 3), np.uint8)
    settings = DetectionSettings(confidence=0.3, iou=0.9, max_detections=50)
    results = {}
    for suffix in ('.onnx', '.torchscript'):
        model = tiny_yolo_model(tmp_path / f'tiny{suffix}', ['a', 'b', 'c'])
        detector = YoloDetector(load_yolo_backend('auto', str(model), 'cpu', 'fp32'), settings)
        results[suffix] = detector.detect(frame)
        assert detector.class_names == ['a', 'b', 'c']
        assert detector.letterbox.network == (320, 320)
    onnx_result, torchscript_result = results['.onnx'], results['.torchscript']
    assert len(onnx_result) >= 3, 'the comparison needs boxes'
    np.testing.assert_array_equal(torchscript_result.class_ids, onnx_result.class_ids)
    np.testing.assert_allclose(torchscript_result.boxes, onnx_result.boxes, atol=1e-3)
    np.testing.assert_allclose(torchscript_result.scores, onnx_result.scores, atol=1e-5)
    assert detector.describe()['backend'] == 'torch'
    assert detector.describe()['nms'] == nms_module.NMS_IMPLEMENTATION


def test_torchscript_without_metadata_uses_defaults_and_bad_metadata_is_refused(tmp_path):
    plain = export_torchscript(TinyYolo(2), tmp_path / 'plain.torchscript', (64, 64), {})
    torch.jit.save(torch.jit.load(str(plain)), str(plain))  # drops config.txt
    detector = YoloDetector(load_yolo_backend('torch', str(plain), 'cpu', 'fp32'))
    assert detector.class_names == [] and detector.letterbox.network == (640, 640)
    for metadata, message in (({'names': {str(10**12): 'x'}}, 'class id 1000000000000'),
                              ({'names': ['x'] * 10_001}, '10001 class names'),
                              ({'imgsz': [640, 10**6]}, 'imgsz')):
        path = export_torchscript(TinyYolo(2), tmp_path / 'bad.torchscript', (64, 64), metadata)
        with pytest.raises(ModelLoadError, match=f'unusable metadata: .*{message}'):
            load_yolo_backend('auto', str(path), 'cpu', 'fp32')
    garbage = tmp_path / 'garbage.torchscript'
    garbage.write_bytes(b'not an archive')
    with pytest.raises(ModelLoadError, match='cannot load TorchScript.*docs/detection.md'):
        load_yolo_backend('auto', str(garbage), 'cpu', 'fp32')


@pytest.mark.parametrize('text, names', [("{0: 'a', 2: 'c'}", ['a', '1', 'c']),
                                         ("['x', 'y']", ['x', 'y']),
                                         ({'0': 'n' * 300}, ['n' * 200])])
def test_parse_class_names(text, names):
    assert parse_class_names(text) == names


@pytest.mark.parametrize('value, message', [({10**12: 'huge'}, 'class id 1000000000000'),
                                            ({-1: 'negative'}, 'class id -1'),
                                            ({'x': 'y'}, "class id 'x'"),
                                            (list(range(10_001)), '10001 class names'),
                                            ('[' * 100_000, 'not a Python literal'),
                                            ('"' + 'x' * 3_000_000 + '"', 'characters long'),
                                            (5, 'list or a dict')])
def test_absurd_class_names_are_refused(value, message):
    with pytest.raises(ValueError, match=message):
        parse_class_names(value)


def test_bad_settings_and_models_are_refused(tmp_path):
    with pytest.raises(ValueError, match='confidence'):
        DetectionSettings(confidence=1.5)
    with pytest.raises(ModelLoadError, match='none of .onnx, .torchscript or .engine'):
        load_yolo_backend('auto', 'yolo11n.pt', 'cpu', 'fp32')
    garbage = tmp_path / 'garbage.onnx'
    garbage.write_bytes(b'not a model')
    # The advice is the YOLO export, not depth-trt-ros export (Depth-Anything only).
    for path in (garbage, tmp_path / 'missing.onnx'):
        with pytest.raises(ModelLoadError, match='docs/detection.md describes'):
            load_yolo_backend('auto', str(path), 'cpu', 'fp32')


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_torchscript_yolo_replays_as_a_cuda_graph_on_the_gpu(tmp_path):
    model = str(tiny_yolo_model(tmp_path / 'tiny.torchscript', ['a', 'b', 'c']))
    pixels = torch.rand(1, 3, 320, 320, generator=torch.Generator().manual_seed(0))
    expected = load_yolo_backend('auto', model, 'cpu', 'fp32').infer(pixels)
    frame = np.random.default_rng(1).integers(0, 255, (240, 320, 3), np.uint8)
    # Head outputs, not decoded boxes: TF32/fp16 rounding moves scores across the threshold.
    for precision, tolerance in (('fp32', 1e-2), ('fp16', 2e-2)):
        backend = load_yolo_backend('auto', model, 'cuda', precision)
        for _ in range(3):
            output = backend.infer(pixels.cuda())
        assert len(backend._graphs) == 1, 'captured once, then replayed'
        torch.testing.assert_close(output.float().cpu(), expected, rtol=tolerance,
                                   atol=tolerance)
        detector = YoloDetector(backend, DetectionSettings(confidence=0.3, max_detections=5))
        result = detector.detect(frame)
        assert 1 <= len(result) <= 5 and (result.boxes[:, 2:] <= [320, 240]).all()
        detector.close()


def test_bgr_frames_are_swapped_on_the_device_and_detect_as_rgb(tmp_path):
    model = tiny_yolo_model(tmp_path / 'tiny.onnx', ['a', 'b', 'c'])
    detector = YoloDetector(load_yolo_backend('auto', str(model), 'cpu', 'fp32'),
                            DetectionSettings(confidence=0.0, max_detections=20))
    rgb = np.random.default_rng(2).integers(0, 255, (120, 160, 3), np.uint8)
    as_rgb, as_bgr = detector.detect(rgb), detector.detect(rgb[..., ::-1], bgr=True)
    assert len(as_rgb) >= 1, 'the comparison needs boxes'
    np.testing.assert_array_equal(as_bgr.boxes, as_rgb.boxes)
    np.testing.assert_array_equal(as_bgr.scores, as_rgb.scores)


def test_frames_in_flight_keep_their_own_results(tmp_path):
    model = tiny_yolo_model(tmp_path / 'tiny.onnx', ['a', 'b', 'c'])
    detector = YoloDetector(load_yolo_backend('auto', str(model), 'cpu', 'fp32'),
                            DetectionSettings(confidence=0.0, max_detections=20))
    frames = [np.random.default_rng(seed).integers(0, 255, (120, 160, 3), np.uint8)
              for seed in (3, 4)]
    expected = [detector.detect(frame) for frame in frames]
    pending = [detector.launch(frame) for frame in frames]
    for result, wanted in zip([p.collect() for p in pending], expected):
        np.testing.assert_array_equal(result.boxes, wanted.boxes)
    with pytest.raises(RuntimeError, match='collected already'):
        pending[0].collect()


def test_settings_changed_after_launch_apply_to_the_frame_collected():
    # The threshold and NMS run at collect, on the host: a live parameter change applies
    # to frames still in flight; the class filter runs on the device at launch.
    output = head_output(BOXES, SCORES, anchors=8)
    settings = DetectionSettings(confidence=0.25)
    rows = candidates(output, class_mask((), 2, output.device))[0]
    assert select(rows, settings)[1].tolist() == pytest.approx([0.9, 0.7, 0.6])
    assert select(rows, DetectionSettings(confidence=0.65))[1].tolist() == pytest.approx([0.9,
                                                                                          0.7])
    people = candidates(output, class_mask((0,), 2, output.device))[0]
    assert select(people, settings)[2].tolist() == [0, 0]
    # An anchor whose best class is filtered out is gone, not demoted to its second class.
    assert (people[:, 4] < 0).sum() == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_cuda_frames_in_flight_keep_their_own_results_and_the_graphs_replay(tmp_path):
    model = str(tiny_yolo_model(tmp_path / 'tiny.torchscript', ['a', 'b', 'c']))
    detector = YoloDetector(load_yolo_backend('auto', model, 'cuda', 'fp32'),
                            DetectionSettings(confidence=0.3, max_detections=20))
    assert detector.asynchronous
    frames = [np.random.default_rng(seed).integers(0, 255, (240, 320, 3), np.uint8)
              for seed in range(4)]
    one_by_one = [detector.detect(frame[..., ::-1], bgr=True) for frame in frames]
    assert all(len(result) >= 1 for result in one_by_one)
    for _ in range(2):
        pending = [detector.launch(frame[..., ::-1], bgr=True) for frame in frames]
        for result, expected in zip([p.collect() for p in pending], one_by_one):
            np.testing.assert_array_equal(result.boxes, expected.boxes)
            np.testing.assert_array_equal(result.class_ids, expected.class_ids)
    assert [len(runner) for runner in detector._graphs] == [1, 1]  # letterbox, candidates


def test_nan_scores_never_push_real_candidates_out(monkeypatch):
    from depth_trt_ros.inference.detection import yolo
    monkeypatch.setattr(yolo, 'MAX_CANDIDATES', 3)
    boxes = [(100 * i + 50, 50, 20, 20) for i in range(6)]
    scores = [(float('nan'),)] * 4 + [(0.9,), (0.8,)]
    output = head_output(boxes, scores, anchors=6)
    rows = candidates(output, class_mask((), 1, output.device))[0]
    assert select(rows, DetectionSettings())[1].tolist() == pytest.approx([0.9, 0.8])
