"""
``bench ros``: camera publishers -> one depth_node (batching them) -> this process, over DDS.

Timeline: the nodes start and reach ``active``; the publishers start and say
``ready`` once matched; they warm the graph up until a common time and fall
silent until the last warm-up output has arrived and every node has published
its counters since (the bench reads them), then send the measured frames from
a common start time for ``--duration`` seconds; the bench waits for the last depth
and reads the counters again. Counters are the differences.
"""
from contextlib import contextmanager, ExitStack
import logging
import os
from pathlib import Path
import sys
import tempfile
import threading
import time
from typing import Callable, Dict, List, NamedTuple, Optional

import rclpy
from rclpy.executors import SingleThreadedExecutor
import torch

from depth_trt_ros.inference.backends.base import resolve_device
from depth_trt_ros.tools.bench.children import expect_line, log_tail, Processes, \
    publisher_report
from depth_trt_ros.tools.bench.monitor import DEPTH_OUTPUTS, Monitor, split_by_camera
from depth_trt_ros.tools.bench.results import compile_results

NAMESPACE = '/depth_bench'
# From the nodes' counters read to the first measured frame: the start time's way to the
# publishers.
START_MARGIN_S = 0.5
# Seconds a publisher waits to match its node; discovery that takes longer is broken
# (seen with LARGE_DATA), and the run then reports what arrives anyway.
PUBLISHER_MATCH_S = 20.0
PUBLISHER_START_S = 60.0
DRAIN_QUIET_S = 1.0
_LOG = logging.getLogger('depth_trt_ros.bench')


def transport_setting(large_data: bool, max_message_mb: int) -> Optional[str]:
    """
    Return the FASTDDS_BUILTIN_TRANSPORTS value the options ask for (None: the default).

    LARGE_DATA sends a sample in 64 KB fragments unless told a larger message
    size; ``max_message_mb`` makes one 640x480 frame one message. Measured with
    ``bench ros`` at 30 Hz (docs/benchmark.md): on Jazzy each ~1 MB hop went
    from ~11 ms to ~1 ms; on Kilted nothing changed measurably. Its socket
    buffers must fit the kernel's limits, or no transport registers and nothing
    is delivered.
    """
    if max_message_mb < 0 or (max_message_mb and not large_data):
        raise ValueError(f'--dds-max-message {max_message_mb}: give a size in MB (1 or more) '
                         'together with --large-data')
    if not large_data:
        return None
    if not max_message_mb:
        return 'LARGE_DATA'
    too_small = [f'net.core.{name}={limit}' for name, limit in kernel_socket_limits().items()
                 if limit < max_message_mb * 10**6]
    if too_small:
        raise ValueError(f'--dds-max-message {max_message_mb} needs socket buffers of '
                         f'{max_message_mb} MB, above this kernel\'s {", ".join(too_small)}: '
                         f'run sudo sysctl -w net.core.rmem_max={max_message_mb * 10**6} '
                         f'net.core.wmem_max={max_message_mb * 10**6}, or leave the option out')
    return f'LARGE_DATA?max_msg_size={max_message_mb}MB&sockets_size={max_message_mb}MB'


def kernel_socket_limits() -> Dict[str, int]:
    """Return the largest socket buffers this kernel grants (unknown ones are left out)."""
    limits = {}
    for name in ('rmem_max', 'wmem_max'):
        try:
            limits[name] = int(Path(f'/proc/sys/net/core/{name}').read_text())
        except (OSError, ValueError):
            continue
    return limits


def set_transport(setting: Optional[str]):
    """Set or unset the transports here, before any participant exists; children inherit it."""
    if setting:
        os.environ['FASTDDS_BUILTIN_TRANSPORTS'] = setting
    else:
        os.environ.pop('FASTDDS_BUILTIN_TRANSPORTS', None)


def child_environment() -> Dict[str, str]:
    """Return this environment, with this copy of the package importable."""
    package_root = str(Path(__file__).resolve().parents[3])
    path = os.pathsep.join(filter(None, [package_root, os.environ.get('PYTHONPATH')]))
    return dict(os.environ, PYTHONPATH=path)


def node_command(args, namespace: str, cameras: List[str]) -> List[str]:
    """One depth_node serving every camera (``cam0/image``, ...), batching them."""
    topics = ', '.join(f"'{camera}/image'" for camera in cameras)
    parameters = {'model_path': args.model, 'backend': args.backend, 'device': args.device,
                  'precision': args.precision, 'cuda_graph': str(args.cuda_graph).lower(),
                  'torch_compile': str(args.torch_compile).lower(),
                  'input_size': args.input_size, 'qos': args.qos, 'qos_depth': args.qos_depth,
                  'publish_colorized': 'false', 'image_topics': f'[{topics}]'}
    command = [sys.executable, '-m', 'depth_trt_ros.ros.depth_node', '--ros-args',
               '-r', f'__ns:={namespace}']
    for name, value in parameters.items():
        command += ['-p', f'{name}:={value}']
    return command


def publisher_command(args, namespace: str) -> List[str]:
    command = [sys.executable, '-m', 'depth_trt_ros.tools.bench.publisher',
               '--namespace', namespace, '--rate', str(args.rate), '--size', args.size,
               '--qos', args.qos,
               '--duration', str(args.duration), '--match-timeout', str(PUBLISHER_MATCH_S)]
    if args.bag:
        command += ['--bag', args.bag] + (['--bag-topic', args.bag_topic]
                                          if args.bag_topic else [])
    return command


class GpuMemory:
    """Peak device-wide memory in use, sampled in the background, minus its start value."""

    def __init__(self, device: torch.device, interval_s: float = 0.2):
        self._device = device
        self._interval_s = interval_s
        self._start = self._used()
        self.peak = self._start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _used(self) -> int:
        free, total = torch.cuda.mem_get_info(self._device)
        return total - free

    def _sample(self):
        while not self._stop.wait(self._interval_s):
            self.peak = max(self.peak, self._used())

    def stop_mib(self) -> float:
        self._stop.set()
        self._thread.join()
        return (self.peak - self._start) / 2**20


def wait_until(predicate, timeout: float, check=lambda: None, interval: float = 0.1):
    """Poll ``predicate`` until truthy (returned) or raise TimeoutError; ``check`` may raise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        check()
        time.sleep(interval)
    raise TimeoutError


class GraphRun(NamedTuple):
    """What a run of publishers through a graph of nodes measured."""

    sent: List[Dict]
    arrivals: Dict[str, List]
    before: Dict[str, Dict]
    after: Dict[str, Dict]
    gpu_memory_peak_mib: Optional[float]
    log_dir: Path


def run_graph(args, namespaces: List[str], node_ids: List[str],
              start_nodes: Callable[[Processes, Path], List], outputs=DEPTH_OUTPUTS
              ) -> GraphRun:
    """
    Run the publishers through nodes that ``start_nodes(children, log_dir)`` starts.

    Waits until the nodes are active, sends the frames and waits for the last
    ``outputs``; returns what was sent and arrived, and the nodes' values per node
    id before (after the warm-up) and after.
    """
    set_transport(transport_setting(args.large_data, args.dds_max_message))
    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix='depth-bench-'))
    log_dir.mkdir(parents=True, exist_ok=True)
    device = torch.device(resolve_device(args.device))
    with ExitStack() as stack:
        memory = GpuMemory(device) if device.type == 'cuda' else None
        children = Processes(log_dir, child_environment())
        stack.callback(children.stop_all)
        nodes = start_nodes(children, log_dir)
        monitor = stack.enter_context(monitoring(namespaces, node_ids, outputs))
        wait_active(monitor, nodes, args.node_timeout)
        sent, before = send_frames(args, children, namespaces, monitor)
        after = _counters_once_drained(monitor)
        gpu_mib = memory.stop_mib() if memory else None
    return GraphRun(sent, monitor.arrivals, before, after, gpu_mib, log_dir)


def transport_name(args) -> str:
    return transport_setting(args.large_data, args.dds_max_message) or 'default (SHM+UDP)'


def run_ros(args) -> Dict[str, object]:
    cameras = [f'cam{i}' for i in range(args.cameras)]
    namespaces = [f'{NAMESPACE}/{camera}' for camera in cameras]
    node_id = f'{NAMESPACE}/depth_node'
    run = run_graph(args, namespaces, [node_id], lambda children, _: [
        children.start('node', node_command(args, NAMESPACE, cameras), cpus=args.node_cpus)])
    results = compile_results(namespaces, run.sent, run.arrivals,
                              split_by_camera(run.before[node_id], namespaces),
                              split_by_camera(run.after[node_id], namespaces))
    results.update(gpu_memory_peak_mib=run.gpu_memory_peak_mib, logs=str(run.log_dir),
                   transport=transport_name(args))
    return results


@contextmanager
def monitoring(namespaces: List[str], node_ids: List[str], outputs=DEPTH_OUTPUTS):
    """Yield a Monitor spun on its own context and thread, shut down on exit."""
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)
    try:
        node = rclpy.create_node('bench_monitor', namespace=NAMESPACE, context=context)
        monitor = Monitor(node, namespaces, node_ids, outputs)
        executor.add_node(node)
        threading.Thread(target=executor.spin, daemon=True).start()
        yield monitor
    finally:
        executor.shutdown()
        rclpy.try_shutdown(context=context)


def _fail(message: str):
    """Log the whole reason (the CLI prints only the start of an unexpected error), raise it."""
    _LOG.error('%s', message)
    raise RuntimeError(message)


def wait_active(monitor: Monitor, nodes: List, timeout: float):
    """Wait until every node reports, the serving node says ``active``, and outputs match."""
    def alive():
        for process in nodes:
            if process.poll() is not None:
                _fail(f'{Path(process.log_path).stem} exited with {process.returncode}; its '
                      f'log ({process.log_path}) ends:\n{log_tail(process)}')

    def active():
        latest = monitor.node_diagnostics()
        return latest and latest[monitor.serving_node()].get('state') == 'active'

    try:
        wait_until(lambda: active() and monitor.matched(), timeout, alive)
    except TimeoutError:
        # Which of the three conditions failed tells a slow node from broken discovery.
        _fail(f'nodes not active after {timeout} s (no /diagnostics from: '
              f'{", ".join(monitor.silent_nodes()) or "none"}; outputs matched: '
              f'{monitor.matched()}); logs: {", ".join(p.log_path for p in nodes)}')


def send_frames(args, children: Processes, namespaces: List[str], monitor: Monitor):
    """Run the publishers to the end; return their reports and the counters before."""
    publishers = [children.start(f'publisher{i}', publisher_command(args, ns), talk=True,
                                 cpus=args.publisher_cpus)
                  for i, ns in enumerate(namespaces)]
    for process in publishers:
        expect_line(process, 'ready', PUBLISHER_START_S + PUBLISHER_MATCH_S)
    tell(publishers, time.time() + args.warmup_s)
    for process in publishers:
        expect_line(process, 'warm', args.warmup_s + PUBLISHER_MATCH_S)
    # Counters read only once the warm-up has gone through every node: under load a
    # graph may still be working on it seconds later, and would count it as measured.
    before = _counters_once_drained(monitor)
    tell(publishers, time.time() + START_MARGIN_S)
    return [publisher_report(process, args.duration + 60) for process in publishers], before


def tell(publishers, wall_time: float):
    """Send every publisher the time (wall clock, s) its next phase ends or starts."""
    for process in publishers:
        process.stdin.write(f'{wall_time!r}\n')
        process.stdin.flush()


def _counters_once_drained(monitor: Monitor, limit_s: float = 15.0) -> Dict[str, Dict]:
    """
    Return every node's values published after the outputs stopped arriving.

    Outputs are drained once none has arrived for DRAIN_QUIET_S (or after
    ``limit_s``); values older than that may miss the last frames' counts.
    """
    deadline = time.monotonic() + limit_s
    count = -1
    while time.monotonic() < deadline and count != monitor.output_count():
        count = monitor.output_count()
        time.sleep(DRAIN_QUIET_S)
    drained = time.monotonic()
    return wait_until(lambda: monitor.node_diagnostics(since=drained), 5.0)
