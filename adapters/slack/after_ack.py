"""The Web API calls a Slack request leads to (card refreshes, App Home, modals), made after the
acknowledgement: Bolt's lazy listeners run here, so an answer never waits on Slack (SPEC §11).

What they call is already decided and committed by the acknowledging listener, which hands it over in
Bolt's context (deep-copied into the lazy request); a lost call loses a refresh, never a change.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait


class AfterAck(ThreadPoolExecutor):
    """Bolt's `listener_executor`, which also knows what is still running, so a test (or a clean
    shutdown) can wait for the calls an answer started."""

    def __init__(self, max_workers: int = 4) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="slack-after-ack")
        self._pending: set[Future] = set()
        self._lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def join(self, timeout: float | None = None) -> bool:
        """Waits for every call started so far; True when none is left running."""
        with self._lock:
            pending = set(self._pending)
        _, not_done = wait(pending, timeout=timeout)
        return not not_done
