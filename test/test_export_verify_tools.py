"""export refuses bad requests up front; verify measures and gates errors."""
import cv2
import numpy as np
import pytest
import torch

from depth_trt_ros.tools import cli
from depth_trt_ros.tools.export import file_stem
from depth_trt_ros.tools.verify import compare_depth, load_images, overall_error


def test_file_stem():
    assert file_stem('random:tiny') == 'random-tiny'
    assert file_stem('depth-anything/Depth-Anything-V2-Small-hf') == 'Depth-Anything-V2-Small-hf'
    assert file_stem('/models/da2.onnx') == 'da2'


@pytest.mark.parametrize('arguments, message', [
    (['--opset', '16'], 'opset 16 is too old: use --opset 17'),
    (['--camera', '640by480'], 'WIDTHxHEIGHT'),
    (['--max-batch', '0'], 'max batch must be at least 1'),
    (['--model', 'missing.onnx'], "ONNX file 'missing.onnx' does not exist"),
])
def test_export_refuses_bad_requests(tmp_path, capsys, arguments, message):
    status = cli.main(['export', '--output-dir', str(tmp_path), *arguments])
    assert status == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')
def test_export_of_fp16_onnx_needs_cuda(tmp_path, capsys):
    status = cli.main(['export', '--model', 'random:tiny', '--output-dir', str(tmp_path),
                       '--onnx-only', '--precision', 'fp16'])
    assert status == 2
    assert 'needs CUDA' in capsys.readouterr().err


def test_compare_depth():
    reference = np.linspace(1.0, 2.0, 100, dtype=np.float32).reshape(10, 10)
    assert compare_depth(reference, reference).relative == 0.0
    error = compare_depth(reference * 1.01, reference)
    assert error.relative == pytest.approx(0.01, rel=1e-4)
    assert error.max_abs_normalized == pytest.approx(0.0, abs=1e-6), 'scale vanishes'
    assert np.isnan(compare_depth(reference * np.nan, reference).relative)
    pooled = overall_error([(reference * 1.01, reference), (reference, reference)])
    assert 0.0 < pooled.relative < 0.01


def test_load_images(tmp_path):
    image = np.zeros((20, 30, 3), np.uint8)
    image[..., 0] = 255  # red in RGB
    cv2.imwrite(str(tmp_path / 'b.png'), image[..., ::-1])
    cv2.imwrite(str(tmp_path / 'a.jpg'), image[..., ::-1])
    (tmp_path / 'notes.txt').write_text('ignored')
    loaded = load_images(tmp_path)
    assert [name for name, _ in loaded] == ['a.jpg', 'b.png']
    assert loaded[1][1][0, 0].tolist() == [255, 0, 0]
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='holds no images'):
        load_images(tmp_path / 'empty')
    with pytest.raises(ValueError, match='does not exist'):
        load_images(tmp_path / 'absent')


def test_verify_onnxruntime_against_torch_on_default_images(exported_tiny_onnx, capsys):
    status = cli.main(['verify', '--model', str(exported_tiny_onnx),
                       '--reference', 'random:tiny', '--input-size', '140',
                       '--device', 'cpu', '--tolerance', '1e-3'])
    report = capsys.readouterr().out
    assert status == 0, report
    for name in ('astronaut', 'chelsea', 'coffee', 'overall', 'OK:'):
        assert name in report
    assert '(onnxruntime, fp32) vs random:tiny (torch, fp32)' in report


def test_verify_fails_above_tolerance(exported_tiny_onnx, tmp_path, capsys):
    frame = (np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / 'noise.png'), frame)
    status = cli.main(['verify', '--model', str(exported_tiny_onnx),
                       '--backend', 'onnxruntime',
                       '--reference', 'random:tiny', '--reference-backend', 'torch',
                       '--images', str(tmp_path), '--device', 'cpu', '--tolerance', '0'])
    assert status == 1
    assert 'FAIL' in capsys.readouterr().out
