"""Erlang C against textbook values; Erlang A against independent derivations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm
from scipy.special import gammainc, gammaln

from hotline.projections.staffing import (
    StaffingError,
    advise,
    erlang_a_performance,
    erlang_b,
    erlang_c,
    erlang_c_performance,
)
from hotline.vocabulary.errors import RulesError
from hotline.vocabulary.queueing import ServiceTarget


def test_erlang_b_textbook() -> None:
    # Classic table values: B(10, 10 E) = 0.2146, B(5, 2 E) = 0.0367.
    assert erlang_b(10, 10.0) == pytest.approx(0.21458, abs=1e-5)
    assert erlang_b(5, 2.0) == pytest.approx(0.03670, abs=1e-5)
    assert erlang_b(0, 3.0) == 1.0


# The standard worked example (100 calls per 30 min, AHT 180 s = 10 Erlangs, 20 s target):
# agents -> (probability of waiting, service level, ASA in seconds).
TEXTBOOK_10_ERLANGS = {
    11: (0.6821, 0.3896, 122.8),
    12: (0.4494, 0.6402, 40.4),
    13: (0.2853, 0.7956, 17.1),
    14: (0.1741, 0.8884, 7.8),
}


@pytest.mark.parametrize("agents", sorted(TEXTBOOK_10_ERLANGS))
def test_erlang_c_textbook(agents: int) -> None:
    pw, sl, asa = TEXTBOOK_10_ERLANGS[agents]
    perf = erlang_c_performance(agents, 100 / 1800, 180.0, target_s=20.0)
    assert perf.wait_probability == pytest.approx(pw, abs=1e-4)
    assert perf.service_level == pytest.approx(sl, abs=1e-4)
    assert perf.asa_s == pytest.approx(asa, abs=0.05)
    assert perf.occupancy == pytest.approx(10 / agents)


def test_erlang_c_is_stable_for_a_big_centre() -> None:
    # 1000 Erlangs would overflow A**n / n! in floating point; the recursion does not.
    pw = erlang_c(1050, 1000.0)
    assert 0.0 < pw < 1.0
    assert math.isfinite(erlang_c_performance(1050, 1000 / 180, 180.0).asa_s)


def test_erlang_c_unstable_when_agents_do_not_cover_the_load() -> None:
    perf = erlang_c_performance(10, 10 / 180, 180.0)
    assert not perf.stable
    assert perf.wait_probability == 1.0
    assert perf.service_level == 0.0


def test_advise_erlang_c_textbook() -> None:
    advice = advise(200, 180, ServiceTarget(80, 20), logged_in=10)
    assert advice.agents_needed == 14  # 13 agents give 79.6%, just short of 80%
    assert advice.gap == 4
    assert advice.at_logged_in is not None and not advice.at_logged_in.stable


def _erlang_a_wait_probability_closed_form(n: int, lam: float, mu: float, theta: float) -> float:
    """Mandelbaum & Zeltyn: P(W>0) = A·E / (1 + (A-1)·E), A(x,y) = x e^y y^-x γ(x,y)."""
    x, y = n * mu / theta, lam / theta
    log_gamma_lower = math.log(gammainc(x, y)) + gammaln(x)
    a = math.exp(math.log(x) + y - x * math.log(y) + log_gamma_lower)
    e = erlang_b(n, lam / mu)
    return a * e / (1.0 + (a - 1.0) * e)


@given(
    n=st.integers(1, 40),
    load_per_agent=st.floats(0.3, 1.5),
    patience_over_aht=st.floats(0.2, 5.0),
)
@settings(max_examples=60, deadline=None)
def test_erlang_a_wait_probability_matches_closed_form(
    n: int, load_per_agent: float, patience_over_aht: float
) -> None:
    aht = 200.0
    lam = n * load_per_agent / aht
    perf = erlang_a_performance(n, lam, aht, patience_over_aht * aht)
    theta = 1 / (patience_over_aht * aht)
    expected = _erlang_a_wait_probability_closed_form(n, lam, 1 / aht, theta)
    assert perf.wait_probability == pytest.approx(expected, rel=1e-7)


def _erlang_a_brute_force(
    n: int, lam: float, aht: float, patience: float, t: float, cap: int = 400
) -> tuple[float, float]:
    """Service level and abandonment from the truncated chain and matrix exponentials."""
    mu, theta = 1 / aht, 1 / patience
    # Stationary law of the birth-death chain, states 0..n+cap.
    weights = [1.0]
    for k in range(1, n + cap + 1):
        death = min(k, n) * mu + max(k - n, 0) * theta
        weights.append(weights[-1] * lam / death)
    pi = np.array(weights) / sum(weights)
    service_level = float(pi[:n].sum())
    abandoned = 0.0
    for q in range(0, 60):
        # Tagged caller at position q+1: states 1..q+1 (position), plus served, abandoned.
        size = q + 3
        gen = np.zeros((size, size))
        served, gone = q + 1, q + 2
        for pos in range(1, q + 2):
            i = pos - 1
            move = n * mu + (pos - 1) * theta
            target = served if pos == 1 else i - 1
            gen[i, target] += move
            gen[i, gone] += theta
            gen[i, i] -= move + theta
        start = np.zeros(size)
        start[q] = 1.0
        end = start @ expm(gen * t)
        service_level += pi[n + q] * end[served]
        ever = start @ expm(gen * 1e5)
        abandoned += pi[n + q] * ever[gone]
    return service_level, abandoned


@pytest.mark.parametrize(
    ("n", "calls_per_hour", "aht", "patience"),
    [(5, 90, 180, 60), (10, 200, 180, 120), (8, 250, 120, 30)],
)
def test_erlang_a_matches_brute_force_chain(
    n: int, calls_per_hour: float, aht: float, patience: float
) -> None:
    perf = erlang_a_performance(n, calls_per_hour / 3600, aht, patience, target_s=15.0)
    sl, ab = _erlang_a_brute_force(n, calls_per_hour / 3600, aht, patience, 15.0)
    assert perf.service_level == pytest.approx(sl, abs=1e-6)
    assert perf.abandon_rate == pytest.approx(ab, abs=1e-6)


def test_erlang_a_tends_to_erlang_c_when_nobody_hangs_up() -> None:
    c = erlang_c_performance(13, 100 / 1800, 180.0, 20.0)
    a = erlang_a_performance(13, 100 / 1800, 180.0, 1e9, 20.0)
    assert a.wait_probability == pytest.approx(c.wait_probability, abs=1e-5)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-5)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-4)
    assert a.abandon_rate < 1e-6


def test_erlang_a_copes_with_overload() -> None:
    # Fewer agents than Erlangs: Erlang C has no answer, Erlang A does (callers give up).
    perf = erlang_a_performance(8, 10 / 180, 180.0, 60.0)
    assert perf.stable and 0.0 < perf.abandon_rate < 1.0
    assert perf.occupancy <= 1.0


def test_advise_erlang_a_needs_fewer_agents_than_erlang_c() -> None:
    c = advise(200, 180, ServiceTarget(80, 20))
    a = advise(200, 180, ServiceTarget(80, 20), patience_s=120)
    assert a.agents_needed < c.agents_needed
    # It is the fewest: one agent less misses the target.
    below = erlang_a_performance(a.agents_needed - 1, 200 / 3600, 180, 120, 20)
    assert below.service_level < 0.8 <= a.predicted.service_level


def test_service_level_rises_with_agents() -> None:
    levels = [erlang_c_performance(n, 0.1, 180.0).service_level for n in range(19, 40)]
    assert levels == sorted(levels)


@pytest.mark.parametrize("text", ["80", "80/", "x/15", "0/15", "100/15", "80/-1"])
def test_bad_target_is_a_clear_error(text: str) -> None:
    with pytest.raises(RulesError):
        ServiceTarget.parse(text)


@pytest.mark.parametrize(
    ("calls_per_hour", "aht_s"), [(-1, 180), (10, 0), (float("nan"), 180), (10, float("inf"))]
)
def test_bad_rates_are_clear_errors(calls_per_hour: float, aht_s: float) -> None:
    with pytest.raises(StaffingError):
        advise(calls_per_hour, aht_s)


def test_cli_staffing(capsys: pytest.CaptureFixture[str]) -> None:
    from hotline.cli import main

    assert main(["staffing", "--calls-per-hour", "200", "--aht-s", "180", "--target", "80/20",
                 "--logged-in", "10"]) == 0
    out = capsys.readouterr().out
    assert "agents needed: 14" in out
    assert "4 short" in out
    bad = ["staffing", "--calls-per-hour", "200", "--aht-s", "180", "--target", "eighty"]
    assert main(bad) == 2
    assert "80/15" in capsys.readouterr().err


def test_advice_from_live_figures() -> None:
    from hotline.projections.staffing import advise_from_live

    # 50 calls in 15 minutes = 200 calls/h; AHT 180 s: the textbook 10 Erlangs.
    advice = advise_from_live(50, 900.0, 180.0, logged_in=12, target=ServiceTarget(80, 20))
    assert advice.calls_per_hour == pytest.approx(200.0)
    assert advice.agents_needed == 14 and advice.gap == 2
    quiet = advise_from_live(0, 900.0, None, logged_in=3)
    assert quiet.agents_needed == 1 and quiet.gap == -2
    with pytest.raises(StaffingError):
        advise_from_live(5, 0.0, 180.0, logged_in=1)
