"""The poll schedule: a finished job is noticed promptly, and a long job is not polled needlessly often."""

from __future__ import annotations

import pytest
from pulumi_zstack_provider._client import PollSchedule

pytestmark = pytest.mark.unit


def poll_times(schedule: PollSchedule, until: float) -> list[float]:
    """When a poller following `schedule` looks at a job, from its start until `until` has passed."""
    times, now = [], 0.0
    while now < until:
        now += schedule.wait(now)
        times.append(now)
    return times


@pytest.mark.parametrize("run_time", [0.1, 0.5, 1.0, 2.0, 3.3, 5.0, 7.7, 10.0, 42.0, 99.9, 600.0])
def test_a_finished_job_is_noticed_within_half_a_second_or_a_tenth_of_its_run_time(run_time: float) -> None:
    schedule = PollSchedule(max_interval=3600)
    noticed = next(t for t in poll_times(schedule, run_time) if t >= run_time)
    assert noticed - run_time <= max(0.5, 0.1 * run_time) + 1e-9


@pytest.mark.parametrize("run_time", [0.02, 0.1, 0.15, 0.2, 0.3])
def test_a_job_that_writes_a_row_is_noticed_well_within_half_a_second(run_time: float) -> None:
    """Operations run such jobs one after another (a trigger, its binding, a tag): each costs little."""
    schedule = PollSchedule(max_interval=10.0)
    noticed = next(t for t in poll_times(schedule, run_time) if t >= run_time)
    assert noticed - run_time <= 0.15 + 1e-9


def test_long_jobs_are_polled_at_most_every_max_interval_and_not_much_more_often() -> None:
    times = poll_times(PollSchedule(max_interval=10.0), 600.0)
    gaps = [b - a for a, b in zip([0.0, *times[:-1]], times, strict=True)]
    assert max(gaps) == pytest.approx(10.0)
    # Short waits at first, growing to half a second, which stays the shortest wait from then on.
    assert gaps[:4] == pytest.approx([0.1, 0.2, 0.4, 0.5])
    assert min(gaps[3:]) == pytest.approx(0.5)
    # A ten-minute job: a dozen polls for the first five seconds, then a tenth of the run time, then 10 s.
    assert len(times) < 100


def test_a_max_interval_below_half_a_second_wins() -> None:
    assert PollSchedule(max_interval=0.2).wait(1.0) == 0.2
    assert PollSchedule(max_interval=0.2).wait(100.0) == 0.2
    assert PollSchedule(max_interval=0.05).wait(0.0) == 0.05


@pytest.mark.parametrize("max_interval", [0.0, -1.0])
def test_a_max_interval_that_is_not_positive_is_refused(max_interval: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        PollSchedule(max_interval=max_interval)


def test_a_first_wait_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        PollSchedule(max_interval=10.0, first=0.0)
