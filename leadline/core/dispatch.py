"""Instant dispatch: the web process runs a new lead's outbox job right after the capture commits.

The outbox row is written in the capture's transaction as always; when instant dispatch is on
(LEADLINE_INSTANT_DISPATCH=1), the row's id is also handed, after commit, to a thread of the
same process that claims it like any worker would (a guarded update: if a worker got there
first, the thread finds nothing to do) and runs it. The owner's email goes out milliseconds
after the capture instead of at the worker's next poll (0.1 s), and a web process that dies
before the thread gets to it loses nothing: the row is still pending, and the worker runs it.
"""

import logging
import os
import queue
import threading

from django.conf import settings
from django.db import connections, transaction

from leadline.core.clock import clock

log = logging.getLogger("leadline.dispatch")
MAX_BATCH = 100
IDLE_CLOSE = 1.0  # seconds without work before the thread closes its database connection


class Dispatcher:
    def __init__(self):
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue | None = None
        self._pid: int | None = None
        self._idle = threading.Event()

    def after_commit(self, job_ids: list[int]) -> None:
        """Run these outbox jobs in this process once the current transaction commits."""
        if job_ids and settings.LEADLINE_INSTANT_DISPATCH:
            transaction.on_commit(lambda: self._put(list(job_ids)))

    def _put(self, job_ids: list[int]) -> None:
        with self._lock:
            if self._pid != os.getpid():  # first use in this (possibly forked) process
                self._queue, self._pid = queue.SimpleQueue(), os.getpid()
                thread = threading.Thread(
                    target=self._run, args=(self._queue,), name="leadline-dispatch", daemon=True
                )
                thread.start()
            self._idle.clear()
            self._queue.put(job_ids)

    def wait_idle(self, timeout: float = 10) -> bool:
        """Block until the thread has run everything handed to it and closed its connection."""
        return self._queue is None or self._idle.wait(timeout)

    def _run(self, jobs: queue.SimpleQueue) -> None:
        from leadline.core.worker import claim_ids, run_batch

        while True:
            try:
                ids = jobs.get(timeout=IDLE_CLOSE)
            except queue.Empty:
                connections.close_all()  # this thread's own; reopened on the next capture
                if jobs.empty():
                    self._idle.set()
                ids = jobs.get()
            while len(ids) < MAX_BATCH:  # whatever else is waiting goes in the same round
                try:
                    ids += jobs.get_nowait()
                except queue.Empty:
                    break
            try:
                now = clock.now()
                claimed = claim_ids(ids, now)
                if claimed:
                    run_batch(claimed, now)
            except Exception:  # noqa: BLE001 — the rows stay due; the worker runs them
                log.exception("instant dispatch failed; the worker will retry")
                connections.close_all()


dispatcher = Dispatcher()
