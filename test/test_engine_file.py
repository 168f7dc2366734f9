"""
Engines this package did not build, as far as a machine without a GPU can check them.

Ultralytics engines carry a length-prefixed JSON metadata block before the
plan; engines users built themselves (trtexec, their own export script)
carry nothing, so names, dtypes, shapes and the profile are read from the
deserialized engine (here a stand-in with the TensorRT 10 API).
"""
import json

import pytest
import torch

from depth_trt_ros.inference.backends.base import ModelLoadError
from depth_trt_ros.inference.detection.class_names import parse_class_names, \
    parse_network_size
from depth_trt_ros.inference.engine_file import MAX_METADATA_BYTES, read_engine_file
from depth_trt_ros.inference.engine_io import deserialize_engine, read_engine_io
from depth_trt_ros.inference.preprocess import Preprocessor
from tensorrt_stand_in import image_engine, INPUT, OUTPUT, StandInEngine, StandInRuntime, \
    TensorIOMode

# Raw plans start with TensorRT's magic: 'ftrt' (full TensorRT), 'vtrt' (TensorRT-RTX).
PLAN = b'ftrt\x00\x00\x00\x00' + bytes(range(256)) * 4
YOLO_METADATA = {'description': 'Ultralytics YOLO11n model', 'stride': 32, 'task': 'detect',
                 'batch': 1, 'imgsz': [640, 640], 'names': {'0': 'person', '1': 'bicycle'},
                 'args': {'half': True, 'dynamic': False}}


def ultralytics_engine(tmp_path, metadata=YOLO_METADATA, plan=PLAN, name='yolo.engine'):
    """Write an engine as ultralytics does: int32 length, JSON, then the plan."""
    text = json.dumps(metadata).encode() if isinstance(metadata, dict) else metadata
    path = tmp_path / name
    path.write_bytes(len(text).to_bytes(4, 'little', signed=True) + text + plan)
    return path


def test_ultralytics_metadata_is_split_off_and_the_rest_handed_to_tensorrt(tmp_path):
    engine_file = read_engine_file(ultralytics_engine(tmp_path))
    assert engine_file.plan == PLAN and engine_file.sidecar is None
    assert engine_file.origin == 'ultralytics export'
    metadata = engine_file.model_metadata
    assert parse_class_names(metadata['names']) == ['person', 'bicycle']
    assert parse_network_size(metadata['imgsz']) == (640, 640)
    assert metadata['task'] == 'detect' and metadata['stride'] == '32'
    yolo = image_engine('images', 'output0', (1, 3, 640, 640), (1, 84, 8400))
    runtime = StandInRuntime({PLAN: yolo})
    assert deserialize_engine(runtime, engine_file.plan, 'yolo', 'fix it') is yolo
    assert runtime.received == [PLAN], 'exactly the bytes after the metadata'


def test_a_raw_plan_is_handed_over_whole(tmp_path):
    path = tmp_path / 'depth_anything_v2_vits.engine'
    path.write_bytes(PLAN)
    engine_file = read_engine_file(path)
    assert engine_file.plan == PLAN and engine_file.model_metadata == {}
    assert engine_file.origin == 'engine without metadata'


@pytest.mark.parametrize('content, message', [
    (b'', 'only 0 bytes, too short'),
    (b'\x10\x00\x00', 'only 3 bytes, too short'),
    ((4000).to_bytes(4, 'little') + b'{"names": {}}', 'declares 4000 bytes of metadata but '
                                                      'the file has 13 .*truncated'),
    ((13).to_bytes(4, 'little') + b'{"names": {}}', 'leaving no engine'),
    ((MAX_METADATA_BYTES + 1).to_bytes(4, 'little') + b'{' + PLAN, 'more than the 1048576'),
    ((-5).to_bytes(4, 'little', signed=True) + b'{' + PLAN, 'declares 4294967291 bytes'),
    ((9).to_bytes(4, 'little') + b'{"names":' + PLAN, 'ultralytics metadata .* is not JSON'),
    ((2).to_bytes(4, 'little') + b'{\xff' + PLAN, 'is not JSON'),
])
def test_broken_metadata_prefixes_are_refused_with_one_message_each(tmp_path, content, message):
    path = tmp_path / 'broken.engine'
    path.write_bytes(content)
    with pytest.raises(ModelLoadError, match=message):
        read_engine_file(path)


def test_absurd_names_in_engine_metadata_are_refused(tmp_path):
    for names, message in (({str(10**12): 'x'}, 'class id 1000000000000'),
                           (['x'] * 10_001, '10001 class names')):
        engine_file = read_engine_file(ultralytics_engine(tmp_path, {'names': names}))
        with pytest.raises(ValueError, match=message):
            parse_class_names(engine_file.model_metadata['names'])


def test_missing_engine_and_refused_plan(tmp_path):
    with pytest.raises(ModelLoadError, match='does not exist.*docs/detection.md'):
        read_engine_file(tmp_path / 'absent.engine')
    with pytest.raises(ModelLoadError, match="deserialize engine 'x'.*rebuild it here"):
        deserialize_engine(StandInRuntime({}), PLAN, "engine 'x'", 'rebuild it here')


def test_io_of_an_ultralytics_yolo_engine():
    io = read_engine_io(image_engine('images', 'output0', (1, 3, 640, 640), (1, 84, 8400)),
                        TensorIOMode.INPUT, 'yolo')
    assert (io.input_name, io.output_name, io.input_dtype) == ('images', 'output0', 'float32')
    assert io.fixed_size == (640, 640) and io.output_shape == (1, 84, 8400)


def test_io_of_user_depth_engines_without_sidecar():
    # The seed user's export: fixed 1x3x384x384, pixel_values -> predicted_depth, fp16 I/O.
    seed = read_engine_io(image_engine('pixel_values', 'predicted_depth', (1, 3, 384, 384),
                                       (1, 384, 384), dtype='HALF'), TensorIOMode.INPUT, 'seed')
    assert seed.fixed_size == (384, 384) and seed.input_dtype == 'float16'
    assert 'pixel_values float16 (batch 1-1, height 384-384, width 384-384)' in seed.describe()
    # A trtexec engine of the Depth-Anything TensorRT ports: other names, 518x518.
    ported = read_engine_io(image_engine('input', 'depth', (1, 3, 518, 518), (1, 1, 518, 518)),
                            TensorIOMode.INPUT, 'trtexec')
    assert (ported.input_name, ported.output_name, ported.fixed_size) == \
        ('input', 'depth', (518, 518))
    # Dynamic axes take their range from optimization profile 0.
    dynamic = read_engine_io(image_engine(
        'input', 'depth', (-1, 3, -1, -1), (-1, -1, -1),
        profile=[(1, 3, 266, 266), (1, 3, 518, 518), (2, 3, 700, 700)]),
        TensorIOMode.INPUT, 'dynamic')
    assert dynamic.fixed_size is None and dynamic.profile.contains((2, 3, 518, 686))
    assert not dynamic.profile.contains((3, 3, 518, 518))


@pytest.mark.parametrize('engine, message', [
    (StandInEngine({'images': (INPUT, 'FLOAT', (1, 3, 64, 64)),
                    'boxes': (OUTPUT, 'FLOAT', (1, 100, 4)),
                    'scores': (OUTPUT, 'FLOAT', (1, 100))}),
     r"inputs \['images'\] and outputs \['boxes', 'scores'\].*nms=False"),
    (image_engine('tokens', 'out', (1, 77), (1, 512)), r'shape \[1, 77\], not an image'),
    (image_engine('gray', 'out', (1, 1, 64, 64), (1, 64, 64)), 'not an image batch'),
    (image_engine('images', 'output0', (1, 3, 64, 64), (1, 6, 84), dtype='INT8'), 'INT8'),
])
def test_engines_the_backend_cannot_feed_are_refused(engine, message):
    with pytest.raises(ModelLoadError, match=message):
        read_engine_io(engine, TensorIOMode.INPUT, 'engine')


def test_a_fixed_size_engine_gets_every_frame_at_its_size():
    frames = torch.zeros(1, 480, 640, 3, dtype=torch.uint8)
    stretched = Preprocessor(518, fixed_size=(384, 384))
    assert stretched(frames).shape == (1, 3, 384, 384)
    assert stretched.network_size(720, 1280) == (384, 384)
    assert Preprocessor(518)(frames).shape == (1, 3, 518, 686), 'others keep the aspect'
