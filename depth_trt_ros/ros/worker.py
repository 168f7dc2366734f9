"""
Inference outside the subscription callbacks, in two overlapped stages.

Callbacks only drop their message into a per-camera slot of one mailbox; the
inference thread takes the newest frame of every camera at once (so frames
that arrive together are batched), and hands results to a publishing thread,
which serialises frame N while the GPU works on frame N+1. A slow model
never builds a queue: a frame overwritten before it was taken is dropped,
and the caller counts it.
"""
import queue
import threading
from typing import Callable, Dict, List, Tuple


class Mailbox:
    """One slot per key; ``put`` reports whether it overwrote an untaken item."""

    def __init__(self):
        self._items: Dict[object, object] = {}
        self._cond = threading.Condition()

    def put(self, key, item) -> bool:
        with self._cond:
            replaced = key in self._items
            self._items[key] = item
            self._cond.notify()
            return replaced

    def take_all(self, timeout: float) -> List[Tuple[object, object]]:
        """Return every waiting ``(key, item)``, waiting up to ``timeout`` for one."""
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            items, self._items = list(self._items.items()), {}
            return items

    def clear(self) -> List:
        """Forget the waiting items and return them."""
        with self._cond:
            items, self._items = list(self._items.values()), {}
            return items


class Pipeline:
    """
    ``infer(items) -> jobs`` on one thread, ``publish(job)`` on another.

    On ``stop`` nothing vanishes: a job not yet published goes to ``discard``.
    """

    def __init__(self, mailbox: Mailbox, infer: Callable[[List], List],
                 publish: Callable[[object], None], discard: Callable[[object], None]):
        self._mailbox = mailbox
        self._infer = infer
        self._publish = publish
        self._discard = discard
        # One result in flight: enough to overlap, and back-pressure beyond it.
        self._jobs: queue.Queue = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run_inference, name='depth-infer',
                                          daemon=True),
                         threading.Thread(target=self._run_publishing, name='depth-publish',
                                          daemon=True)]

    def start(self):
        for thread in self._threads:
            thread.start()

    def _run_inference(self):
        while not self._stop.is_set():
            items = self._mailbox.take_all(timeout=0.1)
            for job in (self._infer(items) if items else ()):
                self._hand_over(job)

    def _hand_over(self, job):
        while not self._stop.is_set():
            try:
                self._jobs.put(job, timeout=0.1)
                return
            except queue.Full:
                continue
        self._discard(job)

    def _run_publishing(self):
        while not self._stop.is_set():
            try:
                job = self._jobs.get(timeout=0.1)
            except queue.Empty:
                continue
            self._publish(job)

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join()
        while not self._jobs.empty():
            self._discard(self._jobs.get_nowait())
