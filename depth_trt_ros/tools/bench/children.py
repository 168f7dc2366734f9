"""Child processes of ``bench ros``: started with logs in files, stopped as after Ctrl-C."""
import argparse
import json
import os
from pathlib import Path
import select
import signal
import subprocess
from typing import Dict, List, Optional


class Processes:
    """Child processes with logs in files (a chatty child never blocks on a pipe)."""

    def __init__(self, log_dir: Path, env: Dict[str, str]):
        self._log_dir = log_dir
        self._env = env
        self._children: List = []

    def start(self, name: str, command: List[str], talk: bool = False,
              cpus: Optional[List[int]] = None) -> subprocess.Popen:
        """
        Start ``command``; with ``talk``, its stdin and stdout are pipes to this process.

        ``cpus``: the cores it may run on. Set right after the start, before the
        interpreter has loaded enough to start threads, so that DDS's and torch's
        threads inherit it.
        """
        log = open(self._log_dir / f'{name}.log', 'w')
        pipe = subprocess.PIPE if talk else None
        process = subprocess.Popen(command, env=self._env, stdin=pipe, stdout=pipe or log,
                                   stderr=log, text=True)
        if cpus:
            os.sched_setaffinity(process.pid, cpus)
        process.log_path = log.name
        self._children.append((process, log))
        return process

    def stop_all(self):
        """SIGINT first, so that nodes shut down as after Ctrl-C, then kill what lingers."""
        for process, _ in self._children:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process, log in self._children:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def cpu_list(text: str) -> List[int]:
    """Parse ``0-7`` or ``0,2,4-5`` into cores this machine lets us use (argparse type)."""
    try:
        cpus = set()
        for part in text.split(','):
            low, _, high = part.partition('-')
            cpus.update(range(int(low), int(high or low) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a core list such as 0-7 or 0,2,4-5")
    usable = os.sched_getaffinity(0)
    if not cpus or not cpus <= usable:
        raise argparse.ArgumentTypeError(f"cores '{text}' are not all among this machine's "
                                         f'usable cores {min(usable)}-{max(usable)}')
    return sorted(cpus)


def log_tail(process, lines: int = 20) -> str:
    return '\n'.join(Path(process.log_path).read_text().splitlines()[-lines:])


def read_line(process, timeout: float) -> str:
    """Return the next line the child prints within ``timeout`` s ('' if none)."""
    readable, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline().strip() if readable else ''


def expect_line(process, expected: str, timeout: float):
    """Wait for the publisher's ``expected`` line; raise with its log if it never comes."""
    line = read_line(process, timeout)
    if line != expected:
        raise RuntimeError(f'camera publisher did not say {expected} ({line or "no answer"}); '
                           f'its log ({process.log_path}) ends:\n{log_tail(process)}')


def publisher_report(process, timeout: float) -> Dict[str, object]:
    """
    Return the publisher's JSON report; raise with its log if none comes.

    The line is read without waiting for the process to end: with LARGE_DATA a
    reliable writer can block in ``destroy_node`` on a half-discovered reader,
    and the report is complete before that.
    """
    line = read_line(process, timeout)
    if not line.startswith('{'):
        raise RuntimeError(f'camera publisher sent no report (exit {process.poll()}); its log '
                           f'({process.log_path}) ends:\n{log_tail(process)}')
    return json.loads(line)
