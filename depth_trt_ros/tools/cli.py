"""
``depth-trt-ros``: one command, one subcommand per tool.

Each tool module exposes ``register(subparsers)``, which adds its parser and
sets ``func`` to a callable taking the parsed arguments and returning an
exit status.
"""
import argparse
import importlib
import logging
import sys

from depth_trt_ros.inference.backends.base import ModelLoadError
from depth_trt_ros.ros.wire import quote

TOOLS = ('demo', 'export', 'verify', 'bench', 'replay', 'evaluate', 'pipeline')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='depth-trt-ros', description='Real-time monocular depth for ROS 2: tools.')
    parser.add_argument('-v', '--verbose', action='store_true', help='debug logging')
    subparsers = parser.add_subparsers(dest='tool', required=True, metavar='TOOL')
    for name in TOOLS:
        importlib.import_module(f'depth_trt_ros.tools.{name}').register(subparsers)
    return parser


def refusal(error: Exception) -> str:
    """
    One line for a tool's error: what went wrong, naming the file, and the fix.

    ModelLoadError and ValueError carry a message that names the fix (the tools
    raise them for bad files and options, e.g. ``bags.BagError``); an OSError names
    its file. Anything else is unexpected: its type and message, cut, since it
    may repeat a file's bytes, and where to find more.
    """
    if isinstance(error, (ModelLoadError, ValueError)):
        return ' '.join(str(error).split())
    if isinstance(error, OSError) and error.filename is not None:
        return f'{error.filename}: {error.strerror}'
    return (f'unexpected {type(error).__name__}: {quote(str(error))}; '
            'run with -v for the traceback')


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format='[%(levelname)s] %(name)s: %(message)s')
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a tool ends with one sentence, never a traceback
        logging.getLogger('depth-trt-ros').debug('traceback', exc_info=True)
        print(f'depth-trt-ros {args.tool}: error: {refusal(error)}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
