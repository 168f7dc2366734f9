"""
Inference outside the subscription callback: the newest frame wins.

The callback only drops its message into a one-slot mailbox; a worker thread
takes whatever is newest. A slow model therefore never builds a queue, and a
frame overwritten before it was taken is counted as dropped.
"""
import threading
from typing import Callable, Optional


class LatestSlot:
    """A mailbox of one item; ``put`` reports whether it overwrote an untaken item."""

    def __init__(self):
        self._item = None
        self._cond = threading.Condition()

    def put(self, item) -> bool:
        with self._cond:
            replaced = self._item is not None
            self._item = item
            self._cond.notify()
            return replaced

    def take(self, timeout: float) -> Optional[object]:
        with self._cond:
            if self._item is None:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def clear(self) -> bool:
        with self._cond:
            had_item = self._item is not None
            self._item = None
            return had_item


class Worker:
    """A thread that calls ``process(item)`` for the newest item in ``slot``."""

    def __init__(self, slot: LatestSlot, process: Callable[[object], None], name: str):
        self._slot = slot
        self._process = process
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self):
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            item = self._slot.take(timeout=0.1)
            if item is not None:
                self._process(item)

    def stop(self):
        self._stop.set()
        self._thread.join()
