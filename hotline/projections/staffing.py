"""Staffing advice: Erlang C (M/M/n) and Erlang A (M/M/n+M, callers who give up).

Both models take the measured arrival rate and average handle time (AHT) and answer
"how many agents do we need now for 80% of calls answered within 15 s?" plus the
probability of waiting, service level, ASA and occupancy for a given number of agents.

Numerics: Erlang B comes from its recursion B(k) = A·B(k-1) / (k + A·B(k-1)), which never
forms A**n or n! and so stays exact for thousands of agents; Erlang C is derived from B.
Erlang A sums the Palm birth-death chain over queue lengths in ratio form (each term
from the previous one), and gets conditional waiting-time laws from the regularised
incomplete beta function (see `_erlang_a_sums`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.special import betainc

from hotline.vocabulary.queueing import ServiceTarget

DEFAULT_TARGET_S = 15.0
_MAX_AGENTS = 100_000
_TAIL_EPS = 1e-15


class StaffingError(ValueError):
    """Inputs that no queueing model can answer (negative rates, bad targets)."""


@dataclass(frozen=True, slots=True)
class Performance:
    """What a model predicts for `agents` agents.

    `service_level` is the share of all offered calls answered within the target time;
    `asa_s` is the average wait of answered calls; `abandon_rate` is 0 in Erlang C.
    """

    agents: int
    offered_erlangs: float
    wait_probability: float
    service_level: float
    asa_s: float
    abandon_rate: float
    occupancy: float
    stable: bool  # False: Erlang C with agents <= load (the queue grows without bound)


@dataclass(frozen=True, slots=True)
class StaffingAdvice:
    """Agents needed to meet `target`, and how far the logged-in agents are from it."""

    model: str  # "erlang-c" or "erlang-a"
    target: ServiceTarget
    calls_per_hour: float
    aht_s: float
    patience_s: float | None
    agents_needed: int
    predicted: Performance
    logged_in: int | None
    gap: int | None  # agents_needed - logged_in (positive: that many agents short)
    at_logged_in: Performance | None


def _check_rates(arrival_rate_per_s: float, aht_s: float) -> None:
    if not math.isfinite(arrival_rate_per_s) or arrival_rate_per_s < 0.0:
        raise StaffingError(f"arrival rate must be a finite number >= 0, got {arrival_rate_per_s}")
    if not math.isfinite(aht_s) or aht_s <= 0.0:
        raise StaffingError(f"handle time must be a finite number > 0 s, got {aht_s}")


def _check_agents(agents: int) -> None:
    if agents < 0:
        raise StaffingError(f"number of agents must be >= 0, got {agents}")


def erlang_b(agents: int, erlangs: float) -> float:
    """Blocking probability of an M/M/n/n system (Erlang B), by the stable recursion."""
    _check_agents(agents)
    if erlangs < 0.0 or not math.isfinite(erlangs):
        raise StaffingError(f"offered load must be a finite number >= 0, got {erlangs}")
    b = 1.0
    for k in range(1, agents + 1):
        b = erlangs * b / (k + erlangs * b)
    return b


def erlang_c(agents: int, erlangs: float) -> float:
    """Probability that a caller waits in an M/M/n queue (Erlang C); 1.0 when unstable."""
    b = erlang_b(agents, erlangs)
    if agents <= erlangs:
        return 1.0
    return agents * b / (agents - erlangs * (1.0 - b))


def erlang_c_performance(
    agents: int, arrival_rate_per_s: float, aht_s: float, target_s: float = DEFAULT_TARGET_S
) -> Performance:
    """Erlang C predictions: callers wait as long as it takes (nobody hangs up)."""
    _check_rates(arrival_rate_per_s, aht_s)
    _check_agents(agents)
    load = arrival_rate_per_s * aht_s
    if load == 0.0:
        return Performance(agents, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, True)
    if agents <= load:
        return Performance(agents, load, 1.0, 0.0, math.inf, 0.0, 1.0, False)
    pw = erlang_c(agents, load)
    spare = agents - load
    service_level = 1.0 - pw * math.exp(-spare * target_s / aht_s)
    asa = pw * aht_s / spare
    return Performance(agents, load, pw, service_level, asa, 0.0, load / agents, True)


def _erlang_a_sums(
    agents: int, rate: float, aht_s: float, patience_s: float, target_s: float
) -> Performance:
    """Palm's M/M/n+M queue summed over the state an arriving caller finds.

    With θ = 1/patience, x = n·μ/θ, y = λ/θ, the stationary law is
    π_k ∝ (λ/μ)^k / k! for k <= n and π_{n+q} = π_n · y^q / ((x+1)...(x+q)).
    A caller who finds q others waiting moves up at rates θ(x+q), ..., θx while their own
    patience runs out at rate θ; so (telescoping) P(served | q) = x / (x+q+1), and the
    time to be answered, weighted by staying, is a sum of exponentials whose distribution
    function is a regularised incomplete beta: P(answered within t | q) =
    x/(x+q+1) · (1 - I_u(x+1, q+1)) with u = exp(-θt).
    """
    mu = 1.0 / aht_s
    theta = 1.0 / patience_s
    load = rate * aht_s
    x = agents * mu / theta
    y = rate / theta
    # P(all agents busy) among states 0..n, from Erlang B (stable for large n).
    b = erlang_b(agents, load)
    if b < 1e-300:  # so many agents that nobody ever waits (and 1/b would overflow)
        return Performance(agents, load, 0.0, 1.0, 0.0, 0.0, load / agents, True)
    # Unnormalised weights relative to π_n = 1: states below n sum to (1-B)/B.
    below = (1.0 - b) / b
    waiting_mass = 0.0
    abandon_mass = 0.0
    within_mass = 0.0
    served_wait_mass = 0.0  # Σ π · E[V · 1{served}]
    u = math.exp(-theta * target_s)
    term = 1.0  # π_{n+q}/π_n
    harmonic = 0.0  # Σ_{i=0}^{q} 1/(x+1+i)
    q = 0
    while True:
        harmonic += 1.0 / (x + 1.0 + q)
        served = x / (x + q + 1.0)
        waiting_mass += term
        abandon_mass += term * (1.0 - served)
        within_mass += term * served * (1.0 - float(betainc(x + 1.0, q + 1.0, u)))
        served_wait_mass += term * served * harmonic / theta
        q += 1
        ratio = y / (x + q)
        term *= ratio
        # Past the mode the terms fall at least geometrically (ratio shrinks with q),
        # so the whole tail is below term / (1 - ratio).
        if ratio < 1.0 and term / (1.0 - ratio) < _TAIL_EPS * waiting_mass:
            break
    total = below + waiting_mass
    pw = waiting_mass / total
    p_abandon = abandon_mass / total
    p_within_queued = within_mass / total
    no_wait = below / total
    service_level = no_wait + p_within_queued
    p_served = 1.0 - p_abandon
    asa = (served_wait_mass / total) / p_served if p_served > 0.0 else math.inf
    # Offered load actually carried = λ·P(served)·AHT, so occupancy = carried / n.
    occupancy = min(1.0, load * p_served / agents)
    return Performance(agents, load, pw, service_level, asa, p_abandon, occupancy, True)


def erlang_a_performance(
    agents: int,
    arrival_rate_per_s: float,
    aht_s: float,
    patience_s: float,
    target_s: float = DEFAULT_TARGET_S,
) -> Performance:
    """Erlang A predictions: callers hang up after an exponential patience (mean given).

    Stable for any number of agents (impatience bounds the queue).
    """
    _check_rates(arrival_rate_per_s, aht_s)
    _check_agents(agents)
    if not math.isfinite(patience_s) or patience_s <= 0.0:
        raise StaffingError(f"mean patience must be a finite number > 0 s, got {patience_s}")
    if arrival_rate_per_s == 0.0:
        return Performance(agents, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, True)
    if agents == 0:
        return Performance(0, arrival_rate_per_s * aht_s, 1.0, 0.0, math.inf, 1.0, 0.0, True)
    return _erlang_a_sums(agents, arrival_rate_per_s, aht_s, patience_s, target_s)


def advise(
    calls_per_hour: float,
    aht_s: float,
    target: ServiceTarget | None = None,
    patience_s: float | None = None,
    logged_in: int | None = None,
) -> StaffingAdvice:
    """Fewest agents meeting `target` (Erlang A when `patience_s` is given, else C)."""
    target = target or ServiceTarget()
    if not math.isfinite(calls_per_hour) or calls_per_hour < 0.0:
        raise StaffingError(f"calls per hour must be a finite number >= 0, got {calls_per_hour}")
    if logged_in is not None:
        _check_agents(logged_in)
    rate = calls_per_hour / 3600.0
    _check_rates(rate, aht_s)
    if patience_s is not None and (not math.isfinite(patience_s) or patience_s <= 0.0):
        raise StaffingError(f"mean patience must be a finite number > 0 s, got {patience_s}")

    def predict(n: int) -> Performance:
        if patience_s is None:
            return erlang_c_performance(n, rate, aht_s, target.within_s)
        return erlang_a_performance(n, rate, aht_s, patience_s, target.within_s)

    load = rate * aht_s
    # Service level rises with every agent added, so search upward from the load.
    n = max(1, math.floor(load)) if patience_s is None else max(1, math.floor(load * 0.5))
    best = predict(n)
    while not (best.stable and best.service_level >= target.fraction):
        n += 1
        if n > _MAX_AGENTS:
            raise StaffingError(f"target {target} needs more than {_MAX_AGENTS} agents")
        best = predict(n)
    # Erlang A may already meet the target below the starting guess; walk down.
    while patience_s is not None and n > 1:
        lower = predict(n - 1)
        if lower.service_level < target.fraction:
            break
        n, best = n - 1, lower
    at_logged_in = predict(logged_in) if logged_in is not None else None
    return StaffingAdvice(
        model="erlang-c" if patience_s is None else "erlang-a",
        target=target,
        calls_per_hour=calls_per_hour,
        aht_s=aht_s,
        patience_s=patience_s,
        agents_needed=n,
        predicted=best,
        logged_in=logged_in,
        gap=None if logged_in is None else n - logged_in,
        at_logged_in=at_logged_in,
    )


def advise_from_live(
    offered: int,
    window_s: float,
    aht_s: float | None,
    logged_in: int,
    target: ServiceTarget | None = None,
    patience_s: float | None = None,
    default_aht_s: float = 240.0,
) -> StaffingAdvice:
    """Advice from live figures: `offered` calls in the last `window_s` seconds.

    Feed it a window of `hotline.projections.stats` (e.g. `snapshot.centre.last_15min`:
    `offered`, `aht_s`) and the agents logged in now; when nothing was handled yet in
    the window, `default_aht_s` stands in for the handle time.
    """
    if window_s <= 0:
        raise StaffingError(f"window must be > 0 s, got {window_s}")
    if offered < 0:
        raise StaffingError(f"offered calls must be >= 0, got {offered}")
    calls_per_hour = offered * 3600.0 / window_s
    return advise(
        calls_per_hour,
        aht_s if aht_s is not None and aht_s > 0 else default_aht_s,
        target=target,
        patience_s=patience_s,
        logged_in=logged_in,
    )
