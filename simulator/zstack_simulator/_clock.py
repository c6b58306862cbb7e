"""The one clock every timed behaviour reads, so tests can move time instead of sleeping."""

from __future__ import annotations

import threading
import time
from datetime import datetime


class Clock:
    """Wall-clock time (Unix seconds) plus an offset that tests can advance."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def local_now(self) -> datetime:
        """The management node's local wall-clock time (ZStack formats dates without a zone)."""
        return datetime.fromtimestamp(self.now())

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the simulator clock only moves forward")
        with self._lock:
            self._offset += seconds

    def __repr__(self) -> str:
        return f"Clock(offset={self._offset:.3f}s)"
