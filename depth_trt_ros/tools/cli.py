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

TOOLS = ('demo', 'export', 'verify', 'bench', 'replay', 'evaluate', 'pipeline')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='depth-trt-ros', description='Real-time monocular depth for ROS 2: tools.')
    parser.add_argument('-v', '--verbose', action='store_true', help='debug logging')
    subparsers = parser.add_subparsers(dest='tool', required=True, metavar='TOOL')
    for name in TOOLS:
        importlib.import_module(f'depth_trt_ros.tools.{name}').register(subparsers)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format='[%(levelname)s] %(name)s: %(message)s')
    try:
        return int(args.func(args) or 0)
    except (ModelLoadError, ValueError) as error:
        # These carry a message that names the fix; a traceback would bury it.
        logging.getLogger('depth-trt-ros').debug('traceback', exc_info=True)
        print(f'depth-trt-ros {args.tool}: error: {error}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
