"""The code stays within APIs that Humble, Jazzy and Kilted share, or guards the newer ones."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'depth_trt_ros'
# Modules that exist only from Iron/Jazzy on; importing them needs a try/except fallback.
NEWER_MODULES = {'rclpy.event_handler', 'rclpy.type_support'}


def _guarded_imports(tree):
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            guarded.update(id(child) for child in node.body)
    return guarded


def offences_in(path: Path):
    tree = ast.parse(path.read_text())
    guarded = _guarded_imports(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if isinstance(call, ast.Call) and ast.unparse(call.func) == 'rclpy.init':
                    yield (f'{path.name}:{node.lineno}: rclpy.init() is a context manager only '
                           'from Jazzy: use depth_trt_ros.ros.runtime.ros_context')
        if isinstance(node, ast.ImportFrom) and node.module in NEWER_MODULES \
                and id(node) not in guarded:
            yield (f'{path.name}:{node.lineno}: {node.module} is missing on Humble: import '
                   'it in try/except ImportError with a fallback')


def test_no_unguarded_newer_rclpy_api():
    offences = [o for path in PACKAGE.rglob('*.py') for o in offences_in(path)]
    assert not offences, '\n'.join(offences)


def test_the_check_catches_an_offence(tmp_path):
    sample = tmp_path / 'sample.py'
    sample.write_text('import rclpy\nfrom rclpy.event_handler import X\n'
                      'with rclpy.init():\n    pass\n')
    assert len(list(offences_in(sample))) == 2
