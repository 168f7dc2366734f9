"""
Inference outside the subscription callbacks, on one thread.

Callbacks only drop their message into a per-camera slot of one mailbox; the
inference thread takes the newest frame of every camera at once (so frames
that arrive together are batched), launches them, and publishes the previous
results while the GPU works. A slow model never builds a queue: a frame
overwritten before it was taken is dropped, and the caller counts it.

The thread contains what it does not expect: an exception from ``launch`` or
``finish`` goes to ``on_error`` and the loop goes on with the next frames. If
the loop itself ends for any other reason, ``on_fatal`` is told why, so the
node can say so and exit instead of idling while it reports ``active``.
"""
import threading
from typing import Callable, Dict, List, Optional, Tuple


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
    ``launch(items) -> jobs`` and ``finish(job)`` on one thread.

    With ``overlap`` (for a launch that only enqueues device work), a job is
    finished only after the frames waiting behind it were launched: the thread
    publishes frame N while the device already works on N+1, and no second
    thread wants the interpreter while the next frame is being launched. When
    nothing is waiting, a job is finished at once, so overlap costs no latency.
    Jobs in flight when ``stop`` is called are finished before it returns.
    ``on_error(error)`` hears of what ``launch`` or ``finish`` raised;
    ``on_fatal(reason)`` of a loop that ended without ``stop``.
    """

    def __init__(self, mailbox: Mailbox, launch: Callable[[List], List],
                 finish: Callable[[object], None], on_error: Callable[[Exception], None],
                 on_fatal: Callable[[str], None], overlap: bool = False):
        self._mailbox = mailbox
        self._launch = launch
        self._finish = finish
        self._on_error = on_error
        self._on_fatal = on_fatal
        self._overlap = overlap
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='depth-infer', daemon=True)

    def start(self):
        self._thread.start()

    def _run(self):
        try:
            self._loop()
        except BaseException as error:  # noqa: B036 - the thread must not end unheard
            self._on_fatal(f'processing thread stopped: {type(error).__name__}: {error}')

    def _loop(self):
        in_flight = []
        while not self._stop.is_set():
            items = self._mailbox.take_all(timeout=0.0 if in_flight else 0.1)
            launched = self._contained(self._launch, items) if items else []
            done, in_flight = (in_flight, launched) if self._overlap else (launched, [])
            for job in done:
                self._contained(self._finish, job)
        for job in in_flight:
            self._contained(self._finish, job)

    def _contained(self, step: Callable, argument) -> Optional[List]:
        """Run one step; what it raises is reported and costs only its own frames."""
        try:
            return step(argument) or []
        except Exception as error:  # noqa: B902 - whatever a model or a frame raises
            self._on_error(error)
            return []

    def stop(self):
        self._stop.set()
        self._thread.join()
