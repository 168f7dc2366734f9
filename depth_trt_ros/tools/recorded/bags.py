"""
rosbag2 files (sqlite3 and MCAP) through ``rosbags``, with rclpy message classes.

Messages are (de)serialized by rclpy, so what comes out of a bag is the same
class a subscription delivers and what goes in is built with the same helpers
the nodes use; topics that are only copied stay raw CDR bytes. Types that no
rosbags store knows (vision_msgs) are registered from the definitions this
package ships in ``depth_trt_ros/interfaces``.
"""
from dataclasses import dataclass
import importlib
from importlib import resources
from pathlib import Path
from typing import Dict, Iterator, Optional

from rclpy.serialization import serialize_message
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import get_types_from_msg, get_typestore, Stores
import yaml

from depth_trt_ros.ros.wire import deserialize_checked, quote

STORAGES = {'sqlite3': StoragePlugin.SQLITE3, 'mcap': StoragePlugin.MCAP}
IMAGE_TYPES = ('sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage')
CAMERA_INFO_TYPE = 'sensor_msgs/msg/CameraInfo'
# Message definitions for the types we create; LATEST covers every distro we support.
_TYPESTORE = get_typestore(Stores.LATEST)
# Packages no store has (vision_msgs is no core package) ship their definitions with us.
_INTERFACES = resources.files('depth_trt_ros') / 'interfaces'


def _packaged_types() -> dict:
    """Return rosbags' field definitions of each ``interfaces/<package>/msg/*.msg`` we ship."""
    types = {}
    for package in _INTERFACES.iterdir():
        for definition in (package / 'msg').iterdir():
            name = f"{package.name}/msg/{definition.name.removesuffix('.msg')}"
            types.update(get_types_from_msg(definition.read_text(), name))
    return types


_TYPESTORE.register(_packaged_types())


def message_class(type_name: str):
    """``sensor_msgs/msg/Image`` -> ``sensor_msgs.msg.Image``."""
    package, _, name = type_name.split('/')
    return getattr(importlib.import_module(f'{package}.msg'), name)


def type_name(message) -> str:
    """``sensor_msgs.msg.Image()`` -> ``sensor_msgs/msg/Image``."""
    package = type(message).__module__.split('.')[0]
    return f'{package}/msg/{type(message).__name__}'


def storage_of(path) -> str:
    """Return the storage plugin of a bag directory (or bare ``.mcap`` file)."""
    path = Path(path)
    files = [path] if path.is_file() else list(path.iterdir())
    return 'mcap' if any(f.suffix == '.mcap' for f in files) else 'sqlite3'


@dataclass
class BagMessage:
    """
    One recorded message: raw CDR ``data``; ``decode()`` gives the rclpy message.

    A bag is untrusted input like a topic: ``decode`` checks the bytes first and
    raises :class:`~depth_trt_ros.ros.wire.MalformedMessage` for malformed ones.
    """

    topic: str
    type_name: str
    timestamp: int
    data: bytes

    def decode(self):
        return deserialize_checked(self.data, message_class(self.type_name))


class BagError(ValueError):
    """A bag that cannot be read; the message names the path, what is wrong and the fix."""

    def __init__(self, path, what: str, fix: str):
        super().__init__(f'{path}: {what} — {fix}')


DAMAGED_FIX = 'the recording is damaged or incomplete: copy or record it again'


def _first_line(error: Exception) -> str:
    """``Type: first line of the message``, cut: storage errors can quote the file's bytes."""
    lines = str(error).strip().splitlines() or ['']
    return f'{type(error).__name__}: {quote(lines[0], 200)}'


def _check_bag_path(path: Path):
    """Refuse what is no rosbag2 before rosbags reads it (its errors do not say which part)."""
    if not path.exists():
        raise BagError(path, 'no such file or directory', 'check the path')
    if path.is_file():
        if path.suffix not in ('.mcap', '.db3'):
            raise BagError(path, 'not a rosbag2 file', 'give a bag directory, an .mcap or a '
                           '.db3 file')
        return
    metadata = path / 'metadata.yaml'
    if not metadata.is_file():
        raise BagError(path, 'not a rosbag2 directory (no metadata.yaml)',
                       'give the directory that ros2 bag record wrote, or one .mcap file; '
                       'ros2 bag reindex rebuilds a lost metadata.yaml')
    fix = f'restore it, or delete it and run ros2 bag reindex {path}'
    try:
        info = yaml.safe_load(metadata.read_bytes())
    except (yaml.YAMLError, ValueError) as error:  # ValueError: not UTF-8
        raise BagError(metadata, 'not valid YAML', fix) from error
    if not isinstance(info, dict) or not isinstance(info.get('rosbag2_bagfile_information'),
                                                    dict):
        raise BagError(metadata, 'not rosbag2 metadata (no rosbag2_bagfile_information)', fix)


class BagReader:
    """
    Messages of a bag in recording order, optionally limited to some topics.

    A bag that cannot be opened or read raises :class:`BagError`, whatever the
    storage layer raised.
    """

    def __init__(self, path):
        self.path = Path(path)
        _check_bag_path(self.path)
        self.storage = storage_of(self.path)
        try:
            self._reader = Reader(self.path)
            self._reader.open()
        # rosbags' storages raise ReaderError, but also struct.error, UnicodeDecodeError,
        # OverflowError or apsw errors on damaged files (tried): there is no common base.
        except Exception as error:
            raise BagError(self.path, f'cannot be opened ({_first_line(error)})',
                           DAMAGED_FIX) from error

    @property
    def topics(self) -> Dict[str, str]:
        """``{topic: type name}``."""
        return {c.topic: c.msgtype for c in self._reader.connections}

    def count(self, topics) -> int:
        return sum(c.msgcount for c in self._reader.connections if c.topic in topics)

    def messages(self, topics=None) -> Iterator[BagMessage]:
        connections = [c for c in self._reader.connections
                       if topics is None or c.topic in topics]
        read = 0
        try:
            for connection, timestamp, data in self._reader.messages(connections):
                yield BagMessage(connection.topic, connection.msgtype, timestamp, data)
                read += 1
        except Exception as error:  # as in __init__; GeneratorExit is no Exception
            raise BagError(self.path, f'unreadable after {read} message(s) '
                           f'({_first_line(error)})', DAMAGED_FIX) from error

    def connection(self, topic: str):
        return next(c for c in self._reader.connections if c.topic == topic)

    def close(self):
        self._reader.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class BagWriter:
    """Writes rclpy messages or copied raw messages; topics are added on first use."""

    def __init__(self, path, storage: str = 'sqlite3'):
        if storage not in STORAGES:
            raise ValueError(f"storage '{storage}' is not one of {', '.join(STORAGES)}")
        self._writer = Writer(Path(path), version=9, storage_plugin=STORAGES[storage])
        self._writer.open()
        self._connections: Dict[str, object] = {}

    def write(self, topic: str, timestamp: int, message):
        """Serialize and write an rclpy ``message``."""
        self._write(topic, type_name(message), timestamp, serialize_message(message))

    def copy(self, message: BagMessage, source: Optional[BagReader] = None):
        """Write a recorded message unchanged, keeping its definition where ``source`` has one."""
        definition = {}
        if source is not None and message.topic not in self._connections:
            original = source.connection(message.topic)
            if original.msgdef.data and original.digest.startswith('RIHS01_'):
                definition = {'msgdef': original.msgdef.data, 'rihs01': original.digest}
        self._write(message.topic, message.type_name, message.timestamp, message.data,
                    **definition)

    def _write(self, topic, msgtype, timestamp, data, **definition):
        connection = self._connections.get(topic)
        if connection is None:
            connection = self._writer.add_connection(
                topic, msgtype, typestore=None if definition else _TYPESTORE, **definition)
            self._connections[topic] = connection
        self._writer.write(connection, timestamp, data)

    def close(self):
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
