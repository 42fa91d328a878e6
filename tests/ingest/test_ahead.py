"""The read-ahead and encode-ahead threads of a load: items arrive in order, a producer's error is raised in
the consumer, and a consumer that stops early leaves no thread running (nothing reads a closed source)."""

from __future__ import annotations

import threading
import time

import pytest

from ingest.ahead import Ahead


def test_items_in_order_with_work_applied() -> None:
    with Ahead(range(1000), lambda i: i * 2, depth=2) as doubled:
        assert list(doubled) == [i * 2 for i in range(1000)]


def test_producer_error_is_raised_in_the_consumer() -> None:
    def items():
        yield 1
        raise OSError("the file ends in the middle of a record")

    with Ahead(items()) as ahead, pytest.raises(OSError, match="middle of a record"):
        assert next(iter(ahead)) == 1
        list(ahead)


def test_consumer_stopping_early_stops_the_worker() -> None:
    produced: list[int] = []

    def items():
        for i in range(10_000):
            produced.append(i)
            time.sleep(0.001)
            yield i

    with pytest.raises(RuntimeError):
        with Ahead(items(), name="test-reader") as ahead:
            for i in ahead:
                if i == 3:
                    raise RuntimeError("the store failed")
    seen = len(produced)
    time.sleep(0.2)
    assert len(produced) == seen <= 6  # at most the queue's depth and the item in hand beyond the consumer
    assert not any(t.name == "test-reader" for t in threading.enumerate())
