"""Simulator scenarios: one day of citizens and agents, described in YAML.

A scenario names the centre configuration it runs against and says how the day goes:
the arrival profile (calls per hour by time of day, surges), the line mix, how citizens
answer each question they hear (by prompt id), how patient they are and how long they
talk, how agents answer, pause and come in, and what supervisors do (mode switches).
Files are checked with the config loader's helpers, so every problem is reported as
`file:line:column field.path: message`.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from hotline.config.loader import Centre
from hotline.config.messages import explain
from hotline.config.suggest import unknown
from hotline.config.yaml_positions import YamlProblems, load_yaml_file
from hotline.vocabulary.problems import ConfigError
from hotline.vocabulary.times import parse_hhmm


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _clock_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parse_hhmm(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a time of day (HH:MM, 00:00-24:00)") from exc
    return value


ClockTime = Annotated[str, BeforeValidator(_clock_time)]
"""Local time of day, "HH:MM" (24:00 allowed as the end of the day)."""


class DistKind(StrEnum):
    EXPONENTIAL = "exponential"
    LOGNORMAL = "lognormal"
    UNIFORM = "uniform"
    FIXED = "fixed"


def _number_is_fixed(value: Any) -> Any:
    # `think_s: 2` means always two seconds.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"dist": "fixed", "mean": value}
    return value


class _Dist(_Model):
    """A random duration in seconds (or any positive quantity)."""

    dist: DistKind = DistKind.EXPONENTIAL
    mean: float | None = Field(default=None, ge=0)
    cv: float = Field(default=1.0, gt=0)  # lognormal: standard deviation / mean
    min: float | None = Field(default=None, ge=0)
    max: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _complete(self) -> _Dist:
        if self.dist is DistKind.UNIFORM:
            if self.min is None or self.max is None:
                raise ValueError("a uniform distribution needs `min` and `max`")
            if self.max < self.min:
                raise ValueError(f"`max` ({self.max}) is below `min` ({self.min})")
        elif self.mean is None:
            raise ValueError(f"a {self.dist.value} distribution needs `mean`")
        elif self.dist is not DistKind.FIXED and self.mean <= 0:
            raise ValueError("`mean` must be > 0")
        return self

    @property
    def average(self) -> float:
        if self.dist == DistKind.UNIFORM:
            assert self.min is not None and self.max is not None
            return (self.min + self.max) / 2
        assert self.mean is not None
        return self.mean

    def sampler(self, rng: random.Random) -> Any:
        """A zero-argument function drawing from this distribution (fast in loops)."""
        kind = DistKind(self.dist)  # also right for copies made without validation
        if kind is DistKind.FIXED:
            value = float(self.mean or 0.0)
            return lambda: value
        if kind is DistKind.UNIFORM:
            low, high = float(self.min or 0.0), float(self.max or 0.0)
            return lambda: rng.uniform(low, high)
        mean = float(self.mean or 0.0)
        if kind is DistKind.EXPONENTIAL:
            rate = 1.0 / mean
            return lambda: rng.expovariate(rate)
        sigma = math.sqrt(math.log1p(self.cv**2))
        mu = math.log(mean) - sigma**2 / 2
        return lambda: rng.lognormvariate(mu, sigma)


Dist = Annotated[_Dist, BeforeValidator(_number_is_fixed)]


class Answer(_Model):
    """One thing a citizen may do when asked: press keys, say something, or stay silent."""

    weight: float = Field(default=1.0, gt=0)
    press: str | None = Field(default=None, pattern=r"^[0-9*#]+$")
    say: str | None = Field(default=None, min_length=1)
    intent: str | None = None  # the recogniser's label for `say` (free-speech nodes)
    confidence: float = Field(default=0.9, ge=0, le=1)
    silence: bool = False
    hang_up: bool = False  # gives up in the IVR

    @model_validator(mode="after")
    def _one_action(self) -> Answer:
        actions = sum((self.press is not None, self.say is not None, self.silence, self.hang_up))
        if actions != 1:
            raise ValueError("an answer needs exactly one of `press`, `say`, `silence: true`, "
                             "`hang_up: true`")
        if self.intent is not None and self.say is None:
            raise ValueError("`intent` goes with `say`")
        return self


class Surge(_Model):
    """Between `start` and `end` (local), arrivals are multiplied by `factor`."""

    start: ClockTime
    end: ClockTime
    factor: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Surge:
        if parse_hhmm(self.end) <= parse_hhmm(self.start):
            raise ValueError(f"a surge must end after it starts ({self.start}-{self.end})")
        return self


class Arrivals(_Model):
    """Calls per hour by local time of day (linear between points), surges, line mix."""

    calls: float | None = Field(default=None, gt=0)  # scale so the day expects this many
    # Or: scale so the day *without its surges* expects this many (a normal day's volume);
    # the surges then come on top, as they do in a real emergency.
    base_calls: float | None = Field(default=None, gt=0)
    profile: dict[ClockTime, float] = Field(min_length=1)
    surges: tuple[Surge, ...] = ()
    lines: dict[str, float] = Field(min_length=1)  # dialled line -> weight
    withheld: float = Field(default=0.02, ge=0, le=1)  # share of callers with no number

    @model_validator(mode="after")
    def _positive(self) -> Arrivals:
        if any(rate < 0 for rate in self.profile.values()):
            raise ValueError("profile rates must be >= 0 calls per hour")
        if not any(rate > 0 for rate in self.profile.values()):
            raise ValueError("the profile has no calls at all")
        if any(weight <= 0 for weight in self.lines.values()):
            raise ValueError("line weights must be > 0")
        if self.calls is not None and self.base_calls is not None:
            raise ValueError("give `calls` (the whole day) or `base_calls` (the day without "
                             "surges), not both")
        return self


class Citizens(_Model):
    patience_s: Dist | None = None  # None: nobody hangs up while waiting (Erlang C)
    talk_s: Dist = _Dist(dist=DistKind.LOGNORMAL, mean=240, cv=0.6)
    think_s: Dist = _Dist(dist=DistKind.UNIFORM, min=0.5, max=3)
    barge_in: float = Field(default=0.2, ge=0, le=1)  # share who answer before a menu ends
    record_s: Dist = _Dist(dist=DistKind.UNIFORM, min=15, max=60)
    callback_answer: float = Field(default=0.85, ge=0, le=1)
    callback_answer_s: Dist = _Dist(dist=DistKind.UNIFORM, min=3, max=15)
    # Share of waiting callers who press the offered key when a queue announcement offers
    # a callback (`Announce.callback_key`); asked again at every such announcement.
    callback_accept: float = Field(default=0.0, ge=0, le=1)
    answers: dict[str, tuple[Answer, ...]] = {}  # prompt id heard last -> what they do


class Logins(StrEnum):
    ROSTER = "roster"  # log in and out per the active roster's shifts
    ALL = "all"  # every configured agent logs in at the start and stays


class Agents(_Model):
    logins: Logins = Logins.ROSTER
    only: tuple[str, ...] = ()  # restrict to these agent ids (empty: everybody)
    login_delay_s: Dist = _Dist(dist=DistKind.UNIFORM, min=0, max=300)
    ready_after_login_s: Dist = _Dist(dist=DistKind.UNIFORM, min=10, max=60)
    answer_delay_s: Dist = _Dist(dist=DistKind.UNIFORM, min=1, max=5)
    ring_no_answer: float = Field(default=0.02, ge=0, le=1)
    # Agents who finish their notes early press "ready" after this long; longer draws
    # (or none given) leave the wrap-up to the queue's own `wrap_up_s` limit.
    wrap_up_s: Dist | None = None
    pause_every_s: Dist | None = _Dist(dist=DistKind.EXPONENTIAL, mean=5400)
    pause_s: Dist = _Dist(dist=DistKind.UNIFORM, min=300, max=900)
    pause_reason: str = "break"
    called_in_share: float = Field(default=0.9, ge=0, le=1)  # of reserve and new-roster staff
    called_in_delay_s: Dist = _Dist(dist=DistKind.UNIFORM, min=300, max=3600)


class SupervisorAction(_Model):
    """Something a supervisor does at a local time (today: switch the centre's mode)."""

    at: ClockTime
    mode: str = Field(min_length=1)
    by: str = "supervisor"
    reason: str = ""
    for_s: float | None = Field(default=None, gt=0)  # automatic return after this long


class Scenario(_Model):
    name: str = Field(min_length=1)
    description: str = ""
    config: str = "../config"  # centre configuration directory, relative to this file
    day: dt.date
    start: ClockTime = "00:00"
    end: ClockTime = "24:00"
    # After `end` no new calls arrive; the run goes on until every call and every callback
    # request is settled, or for at most this long (what is left is reported, not dropped).
    drain_s: float = Field(default=3600, ge=0)
    seed: int = 1
    mode: str = "normal"  # the centre's mode at the start
    arrivals: Arrivals
    citizens: Citizens = Citizens()
    agents: Agents = Agents()
    supervisor: tuple[SupervisorAction, ...] = ()

    @model_validator(mode="after")
    def _day_window(self) -> Scenario:
        start, end = parse_hhmm(self.start), parse_hhmm(self.end)
        if end <= start:
            raise ValueError(f"`end` ({self.end}) must be after `start` ({self.start})")
        for action in self.supervisor:
            if not start <= parse_hhmm(action.at) < end:
                raise ValueError(
                    f"supervisor action at {action.at} is outside the simulated day "
                    f"({self.start}-{self.end})"
                )
        return self


def load_scenario(path: str | Path) -> tuple[Scenario, Path]:
    """Read and check a scenario file; return it with its centre config directory.

    Raises `ConfigError` listing every problem with its file, line and field.
    """
    file = Path(path)
    try:
        doc = load_yaml_file(file)
    except YamlProblems as exc:
        raise ConfigError(exc.problems) from None
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        problems = [
            doc.problem(item.path, item.message, at_key=item.at_key)
            for item in explain(exc, doc.data, Scenario)
        ]
        raise ConfigError(problems) from None
    return scenario, (file.parent / scenario.config).resolve()


def check_against_centre(scenario: Scenario, file: str | Path, centre: Centre) -> None:
    """Cross-check names the scenario uses against the loaded centre (lines, modes, ...)."""
    doc = load_yaml_file(Path(file))
    problems = []
    config = centre.config
    for line in scenario.arrivals.lines:
        if line not in config.lines:
            problems.append(doc.problem(("arrivals", "lines", line),
                                        _unknown("line", line, config.lines), at_key=True))
    if scenario.mode not in config.modes:
        problems.append(doc.problem(("mode",), _unknown("mode", scenario.mode, config.modes)))
    for i, action in enumerate(scenario.supervisor):
        if action.mode not in config.modes:
            problems.append(doc.problem(("supervisor", i, "mode"),
                                        _unknown("mode", action.mode, config.modes)))
    for prompt_id in scenario.citizens.answers:
        if prompt_id not in centre.prompts:
            problems.append(doc.problem(("citizens", "answers", prompt_id),
                                        _unknown("prompt", prompt_id, centre.prompts.ids()),
                                        at_key=True))
    start_mode = config.modes.get(scenario.mode)
    if (scenario.agents.logins is Logins.ROSTER and start_mode is not None
            and start_mode.roster is None):
        # Nobody would ever log in: the day would run with no agents at all.
        problems.append(doc.problem(
            ("agents", "logins"),
            f"agents log in by roster, but the centre's mode {scenario.mode!r} has no roster"
            + (f" (rosters: {', '.join(sorted(config.rosters))})" if config.rosters
               else " (the centre has no rosters)")
            + "; set `logins: all` or give the mode a `roster`"))
    for i, agent_id in enumerate(scenario.agents.only):
        if agent_id not in config.agents:
            problems.append(doc.problem(("agents", "only", i),
                                        _unknown("agent", agent_id, config.agents)))
    if problems:
        raise ConfigError(problems)


def _unknown(kind: str, name: str, known: Any) -> str:

    return unknown(kind, name, list(known))
