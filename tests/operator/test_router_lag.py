"""The behind rule: the router's lag above a threshold and higher than a window ago."""

from __future__ import annotations

import pytest

from hub.operator.router_lag import LagTrend, growing

WINDOW, THRESHOLD = 60.0, 100


@pytest.mark.parametrize(("now", "then", "behind"), [
    (THRESHOLD + 1, THRESHOLD, True),  # grew, above the threshold
    (THRESHOLD * 50, 0, True),
    (THRESHOLD, 0, False),  # grew, but not above the threshold
    (THRESHOLD * 5, THRESHOLD * 5, False),  # a steady backlog
    (THRESHOLD * 5, THRESHOLD * 6, False),  # a backlog being worked off
    (None, 0, False), (THRESHOLD * 5, None, False),  # unknown either side: no verdict
])
def test_growing(now, then, behind):
    assert growing(now, then, THRESHOLD) is behind


def trend(samples: list[tuple[float, int | None]]) -> LagTrend:
    lags = LagTrend(WINDOW, THRESHOLD)
    for at, lag in samples:
        lags.add(at, lag)
    return lags


def test_no_verdict_before_a_window_of_samples():
    lags = trend([(t, THRESHOLD * (1 + t)) for t in range(0, int(WINDOW), 2)])
    assert lags.lag == THRESHOLD * (1 + int(WINDOW) - 2) and not lags.behind
    assert not LagTrend(WINDOW, THRESHOLD).behind and LagTrend(WINDOW, THRESHOLD).lag is None


def test_growing_over_the_window_is_behind_and_compared_with_the_sample_a_window_old():
    rising = [(float(t), THRESHOLD * 2 + t) for t in range(0, 200, 2)]
    assert trend(rising).behind
    # high long ago, then lower and steady for more than a window: the sample a window old counts, not the first
    fell = [(0.0, THRESHOLD * 100), *((float(t), THRESHOLD * 2) for t in range(2, 200, 2))]
    assert not trend(fell).behind
    # up again in the last window, over the steady level of a window ago
    assert trend([*fell, (200.0, THRESHOLD * 3)]).behind


def test_a_steady_or_small_lag_is_not_behind():
    assert not trend([(float(t), THRESHOLD * 5) for t in range(0, 200, 2)]).behind
    assert not trend([(float(t), t % 7) for t in range(0, 200, 2)]).behind  # below the threshold, however it moves
    assert not trend([(0.0, THRESHOLD * 2), (WINDOW, None)]).behind
