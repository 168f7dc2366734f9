"""
Start and spin nodes the same way on Humble, Jazzy and Kilted.

``with rclpy.init()`` exists only from Jazzy on; this context manager gives
the same clean start and shutdown everywhere, with no traceback on Ctrl-C.
"""
from contextlib import contextmanager

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor


@contextmanager
def ros_context(args=None):
    rclpy.init(args=args)
    try:
        yield
    finally:
        rclpy.try_shutdown()


def spin(nodes):
    """Spin ``nodes`` on one multi-threaded executor until shutdown or Ctrl-C."""
    executor = MultiThreadedExecutor()
    for node in nodes:
        executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        for node in nodes:
            node.destroy_node()
