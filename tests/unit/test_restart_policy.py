"""The supervisor's restart rules (services/cli/restarts.py): back-off and crash loops."""

from __future__ import annotations

from services.cli.restarts import RestartPolicy


def test_back_off_doubles_with_each_recent_crash_up_to_the_cap() -> None:
    policy = RestartPolicy(initial_backoff=0.5, max_backoff=3.0)
    delays = [policy.backoff([0.0] * n) for n in range(1, 7)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_only_crashes_inside_the_window_count() -> None:
    policy = RestartPolicy(max_crashes=3, window=60.0)
    crashes = [0.0, 10.0, 70.0]
    recent = policy.recent(crashes, now=70.0)
    assert recent == [10.0, 70.0]
    assert not policy.is_crash_loop(recent)
    assert policy.backoff(recent) == 2 * policy.initial_backoff
    # A child that stayed up for a whole window starts again from the first back-off.
    assert policy.recent(crashes, now=200.0) == []
    assert policy.backoff(policy.recent([*crashes, 200.0], 200.0)) == policy.initial_backoff


def test_max_crashes_within_the_window_is_a_crash_loop() -> None:
    policy = RestartPolicy(max_crashes=3, window=60.0)
    recent = policy.recent([0.0, 20.0, 59.0], now=59.0)
    assert policy.is_crash_loop(recent)
    assert policy.describe_loop(recent) == "crash loop: exited 3 times within 60s"
