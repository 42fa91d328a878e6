"""Work done one step ahead in a second thread: the stages of a load overlap instead of taking turns.

Why: a load is a chain — GDAL reads a batch, GEOS and Arrow clean it, it is encoded for COPY, the socket
sends it, and the server stores it. Each of these releases the GIL, so on two cores a stage that runs in
its own thread overlaps the others, and on a shared machine the load gets a share of the CPU for each
runnable thread. :class:`Ahead` runs an iterator (and optionally a function on each item) in a worker
thread, ``depth`` items ahead of the consumer.

Closing it (the ``with`` block's end) stops and joins the worker, so nothing reads a source after the
source is closed: an error on either side ends both, and the producer's error is raised in the consumer.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


class Ahead(Generic[T]):
    """The items of ``items`` (or ``work(item)`` of each), made in a worker thread up to ``depth`` ahead."""

    def __init__(self, items: Iterable[Any], work: Callable[[Any], T] | None = None, *, name: str = "ahead",
                 depth: int = 1):
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._produce, args=(items, work), name=name, daemon=True)
        self._worker.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, items: Iterable[Any], work: Callable[[Any], T] | None) -> None:
        try:
            for item in items:
                if not self._put(work(item) if work is not None else item):
                    return
            self._put(_DONE)
        except BaseException as e:  # raised again in the consumer
            self._put(_Failure(e))

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def close(self) -> None:
        """Stop the worker and wait for it (a read or a batch it is in the middle of finishes first)."""
        self._stop.set()
        self._worker.join()

    def __enter__(self) -> "Ahead[T]":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
