"""
depth_node in a child process, as a graph would run it (soak, bench).

A separate process keeps the node's threads, GIL and memory apart from the
publisher and subscriber that measure it. The tests' NodeProcess builds its
command line here too.
"""
from contextlib import contextmanager
import os
import signal
import subprocess
import sys
from typing import Dict, Optional


def node_command(parameters: Dict[str, object], namespace: str = '/',
                 module: str = 'depth_trt_ros.ros.depth_node') -> list:
    """``python -m MODULE --ros-args ...`` for these parameters, depth_node by default."""
    command = [sys.executable, '-m', module, '--ros-args', '-r', f'__ns:={namespace}']
    for name, value in parameters.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        command += ['-p', f'{name}:={text}']
    return command


@contextmanager
def running_node(parameters: Dict[str, object], namespace: str = '/',
                 domain_id: Optional[str] = None, log_path=None):
    """Start the node, yield its ``Popen``, stop it with SIGINT (as Ctrl-C) on exit."""
    env = dict(os.environ)
    if domain_id is not None:
        env['ROS_DOMAIN_ID'] = str(domain_id)
    log = open(log_path, 'wb') if log_path else subprocess.DEVNULL
    process = subprocess.Popen(node_command(parameters, namespace), env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if log_path:
            log.close()
