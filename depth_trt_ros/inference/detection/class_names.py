"""
Class names and input size from model metadata or a YAML file, bounded.

Metadata comes from files users download: a names dict whose largest key is
10**12 must be refused, not turned into a list of a trillion strings.
"""
import ast
from pathlib import Path
from typing import List, Tuple

MAX_CLASSES = 10_000
MAX_NAME_CHARS = 200
# A names text longer than this cannot hold MAX_CLASSES names of MAX_NAME_CHARS each.
MAX_NAMES_TEXT = MAX_CLASSES * (MAX_NAME_CHARS + 16)
MAX_NETWORK_SIDE = 8192


def _literal(text: str, what: str):
    if len(text) > MAX_NAMES_TEXT:
        raise ValueError(f'{what} is {len(text)} characters long, more than '
                         f'{MAX_CLASSES} classes need: the metadata is corrupt')
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as error:
        raise ValueError(f'{what} {text[:60]!r} is not a Python literal') from error


def _class_id(key) -> int:
    try:
        class_id = int(key)
    except (TypeError, ValueError) as error:
        raise ValueError(f'class id {str(key)[:20]!r} is not an integer') from error
    if not 0 <= class_id < MAX_CLASSES:
        raise ValueError(f'class id {class_id} is outside 0..{MAX_CLASSES - 1}: the names '
                         'are corrupt, or give a class_names_file')
    return class_id


def parse_class_names(value) -> List[str]:
    """
    Class names from a list, an ``{id: name}`` dict or its text (ultralytics metadata).

    Ids must lie in ``0..MAX_CLASSES - 1``; names are cut to MAX_NAME_CHARS;
    ids missing from a dict are named by their number.
    """
    if isinstance(value, str):
        value = _literal(value, 'class names')
    if isinstance(value, dict):
        ids = {_class_id(key): str(name)[:MAX_NAME_CHARS] for key, name in value.items()}
        return [ids.get(i, str(i)) for i in range(max(ids) + 1 if ids else 0)]
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_CLASSES:
            raise ValueError(f'{len(value)} class names are more than {MAX_CLASSES}: the '
                             'names are corrupt, or give a class_names_file')
        return [str(name)[:MAX_NAME_CHARS] for name in value]
    raise ValueError(f'class names must be a list or a dict, got {type(value).__name__}')


def load_class_names(path: str) -> List[str]:
    """Read names from a YAML file: a list, a dict, or a dataset file with ``names:``."""
    import yaml

    try:
        content = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read class names from '{path}': {error}") from error
    if isinstance(content, dict) and 'names' in content:
        content = content['names']
    try:
        return parse_class_names(content)
    except ValueError as error:
        raise ValueError(f"class names in '{path}': {error}") from error


def parse_network_size(value) -> Tuple[int, int]:
    """Ultralytics' ``imgsz`` (``640``, ``[480, 640]`` or their text) -> ``(height, width)``."""
    if isinstance(value, str):
        value = _literal(value, 'imgsz')
    sides = [value, value] if isinstance(value, int) else value
    if (not isinstance(sides, (list, tuple)) or len(sides) != 2
            or not all(isinstance(side, int) and 0 < side <= MAX_NETWORK_SIDE
                       for side in sides)):
        raise ValueError(f'imgsz {str(value)[:40]!r} is not one or two sides of 1 to '
                         f'{MAX_NETWORK_SIDE} pixels')
    return int(sides[0]), int(sides[1])
