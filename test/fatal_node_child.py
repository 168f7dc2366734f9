"""
Run by test_node_robustness: a depth_node whose processing thread cannot go on.

The loop is replaced by one that raises what no frame handler catches, to
check what a node does when its thread stops anyway: ERROR, then exit 1.
"""
import sys

from depth_trt_ros.ros import worker
from depth_trt_ros.ros.depth_node import main


def _broken_loop(pipeline):
    raise SystemError('injected: the loop itself failed')


if __name__ == '__main__':
    worker.Pipeline._loop = _broken_loop
    sys.exit(main())
