"""
Run by test_node_robustness: a depth_node whose processing thread cannot go on.

The loop is replaced by one that raises what no frame handler catches (at
the first frame), to check what a node does when its thread stops anyway:
ERROR, then exit 1.
"""
import sys

from depth_trt_ros.ros import worker
from depth_trt_ros.ros.depth_node import main


def _broken_loop(pipeline):
    """Fail at the first frame: by then the test has heard the node, so it hears the ERROR."""
    while not pipeline._mailbox.take_all(timeout=0.1):
        if pipeline._stop.is_set():
            return
    raise SystemError('injected: the loop itself failed')


if __name__ == '__main__':
    worker.Pipeline._loop = _broken_loop
    sys.exit(main())
