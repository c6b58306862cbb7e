"""How long to wait before looking at a running ZStack job again."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PollSchedule:
    """Waits of ``max(floor, fraction * elapsed)``, never longer than `max_interval`.

    A job that ends `T` seconds after it started is seen by the first poll after `T`. Since the wait before
    that poll was computed at an elapsed time below `T`, the job is noticed at most ``max(floor, fraction *
    T)`` late (or `max_interval`, if smaller): half a second for short jobs, a tenth of the run time for long
    ones. Polls stay few on long jobs: about seven per doubling of the run time, then one per `max_interval`.
    """

    max_interval: float
    floor: float = 0.5
    fraction: float = 0.1

    def __post_init__(self) -> None:
        if self.max_interval <= 0 or self.floor <= 0 or self.fraction < 0:
            raise ValueError("poll intervals must be positive")

    def wait(self, elapsed: float) -> float:
        """Seconds to sleep before the next poll, `elapsed` seconds after the job was started."""
        return min(self.max_interval, max(self.floor, self.fraction * elapsed))
