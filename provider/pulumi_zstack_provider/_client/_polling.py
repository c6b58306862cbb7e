"""How long to wait before looking at a running ZStack job again."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PollSchedule:
    """Waits of ``max(min(floor, first + elapsed), fraction * elapsed)``, never longer than `max_interval`.

    The first waits are short and grow with the time elapsed (0.1 s, 0.2 s, 0.4 s, then `floor`): a job that
    only writes a row (a tag, a scheduler trigger, a binding) is over in a fraction of a second, and an
    operation that runs several of them one after another would otherwise wait a whole `floor` for each.
    A job that ends `T` seconds after it started is seen by the first poll after `T`. Since the wait before
    that poll was computed at an elapsed time below `T`, the job is noticed at most ``max(min(floor, first +
    T), fraction * T)`` late (or `max_interval`, if smaller): half a second at most for short jobs, a tenth
    of the run time for long ones. Polls stay few on long jobs: about seven per doubling of the run time,
    then one per `max_interval`.
    """

    max_interval: float
    floor: float = 0.5
    fraction: float = 0.1
    first: float = 0.1

    def __post_init__(self) -> None:
        if self.max_interval <= 0 or self.floor <= 0 or self.first <= 0 or self.fraction < 0:
            raise ValueError("poll intervals must be positive")

    def wait(self, elapsed: float) -> float:
        """Seconds to sleep before the next poll, `elapsed` seconds after the job was started."""
        return min(self.max_interval, max(min(self.floor, self.first + elapsed), self.fraction * elapsed))
