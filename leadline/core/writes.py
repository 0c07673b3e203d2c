"""Turns for SQLite's single writer (a no-op on PostgreSQL, which has row locks)."""

import os
import threading
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections

try:
    import fcntl
except ImportError:  # Windows: writers fall back to SQLite's own waiting
    fcntl = None


class WriterQueue:
    """SQLite lets one writer at a time, and a writer that finds the database locked sleeps and
    retries (1, 2, 5, 10, 15, 20, 25… ms): under load, writers waste those sleeps, the slowest
    wait hundreds of milliseconds, and a writer that comes back less often (the worker, between
    captures) can lose every race for seconds. Writers queue for their write transaction
    instead, in each process on a lock and across processes on an flock of a file beside the
    database, and each one starts the moment the last one commits: captures and the worker's
    claims and bookkeeping take turns in arrival order. Only short transactions join the queue,
    and nothing waits for the queue while holding the database, so it cannot deadlock; other
    writers (admin edits, imports' own steps) use SQLite's own waiting."""

    def __init__(self):
        self._lock = threading.Lock()
        self._files: dict[tuple[int, str], int] = {}

    @contextmanager
    def __call__(self):
        connection = connections[DEFAULT_DB_ALIAS]
        path = connection.settings_dict["NAME"]
        if (
            fcntl is None
            or connection.vendor != "sqlite"
            or connection.in_atomic_block  # the caller's transaction already holds the database
            or connection.is_in_memory_db()
        ):
            yield
            return
        with self._lock:
            key = (os.getpid(), str(path))  # a forked process opens its own file
            if key not in self._files:
                self._files[key] = os.open(f"{path}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._files[key], fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._files[key], fcntl.LOCK_UN)


write_turn = WriterQueue()
