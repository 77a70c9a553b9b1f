"""The work-order catalogue: category tree, departments and deadline policy.

Categories form a code tree in the style of GB/T 39666 (`01` 城乡建设 > `0103` 物业管理 >
`010301` 物业服务). A category without its own deadline or default department inherits
its parent's. A deadline may be overridden per centre mode (emergency mode shortens
them); in a mode, the nearest override up the tree wins, and only when no category on
the way (nor the file's default) overrides that mode does the normal deadline apply.

`load_catalogue` reads `config/workorders.yaml` with the located YAML loader and raises
`ConfigError` listing every problem at once (`file:line:col field: message`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotline.config.schema import CentreConfig
from hotline.config.yaml_positions import (
    PositionedDocument,
    YamlProblems,
    load_yaml,
    load_yaml_file,
)
from hotline.vocabulary.problems import ConfigError, ConfigProblem, PathPart
from hotline.workorders.working_time import WorkCalendar, WorkingHours, WorkingPeriod

_CODE = re.compile(r"^[0-9A-Za-z]{1,16}$")
_ROOT_FIELDS = (
    "calendar", "working_hours", "sign_for", "default_deadline", "default_modes",
    "chase_at_fraction_left", "amber_below_fraction_left", "duplicate_window_days",
    "departments", "categories",
)
_CATEGORY_FIELDS = ("code", "name", "en", "parent", "deadline", "modes", "department")
_DEPARTMENT_FIELDS = ("name", "contact")
DEFAULT_DEADLINE = WorkingPeriod(days=5)
DEFAULT_SIGN_FOR = WorkingPeriod(hours=2)
DEFAULT_WORKING_HOURS = WorkingHours(((9 * 60, 17 * 60 + 30),))


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    name: str
    contact: str = ""


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    name: str
    en: str = ""
    parent: str | None = None
    deadline: WorkingPeriod | None = None  # None: inherited
    modes: Mapping[str, WorkingPeriod] = field(default_factory=dict)
    department: str | None = None  # None: inherited


@dataclass(frozen=True)
class Catalogue:
    """Everything a centre configures about work orders (immutable once loaded)."""

    categories: Mapping[str, Category]
    departments: Mapping[str, Department]
    default_deadline: WorkingPeriod = DEFAULT_DEADLINE
    default_modes: Mapping[str, WorkingPeriod] = field(default_factory=dict)
    working_hours: WorkingHours = DEFAULT_WORKING_HOURS
    sign_for: WorkingPeriod = DEFAULT_SIGN_FOR
    calendar: str = "cn"
    chase_at_fraction_left: float = 0.25
    amber_below_fraction_left: float = 0.3
    duplicate_window_days: int = 7

    def lineage(self, code: str) -> tuple[Category, ...]:
        """`code`'s category and its ancestors, nearest first (KeyError when unknown)."""
        chain: list[Category] = []
        current: str | None = code
        while current is not None:
            category = self.categories[current]
            if category in chain:  # only a hand-built catalogue can loop; the loader refuses
                raise ValueError(f"category {code!r} has a parent loop")
            chain.append(category)
            current = category.parent
        return tuple(chain)

    def deadline_period(self, code: str | None, mode: str) -> WorkingPeriod:
        chain = self.lineage(code) if code is not None else ()
        for category in chain:
            if mode in category.modes:
                return category.modes[mode]
        if mode in self.default_modes:
            return self.default_modes[mode]
        for category in chain:
            if category.deadline is not None:
                return category.deadline
        return self.default_deadline

    def department_for(self, code: str) -> Department | None:
        for category in self.lineage(code):
            if category.department is not None:
                return self.departments[category.department]
        return None

    def children(self, code: str | None) -> tuple[Category, ...]:
        """Direct children of `code` (roots when None), in file order."""
        return tuple(c for c in self.categories.values() if c.parent == code)

    def find(self, label: str) -> Category | None:
        """The category whose code, Chinese or English name is `label` (for suggestions)."""
        wanted = label.strip()
        if wanted in self.categories:
            return self.categories[wanted]
        for category in self.categories.values():
            if wanted in (category.name, category.en) and wanted:
                return category
        return None

    def find_department(self, label: str) -> Department | None:
        wanted = label.strip()
        if wanted in self.departments:
            return self.departments[wanted]
        return next((d for d in self.departments.values() if d.name == wanted), None)

    def work_calendar(self, centre: CentreConfig) -> WorkCalendar:
        """The working-time calendar in the centre's time zone (KeyError: no such calendar)."""
        return WorkCalendar(
            centre.holidays[self.calendar], ZoneInfo(centre.centre.timezone), self.working_hours
        )


def load_catalogue(
    path: str | Path,
    *,
    calendars: Collection[str] | None = None,
    modes: Collection[str] | None = None,
) -> Catalogue:
    """Read a catalogue file. `calendars`/`modes`, when given, are the centre's names."""
    try:
        doc = load_yaml_file(Path(path))
    except YamlProblems as exc:
        raise ConfigError(exc.problems) from exc
    return _Reader(doc, calendars, modes).catalogue()


def parse_catalogue(
    text: str,
    file: str = "workorders.yaml",
    *,
    calendars: Collection[str] | None = None,
    modes: Collection[str] | None = None,
) -> Catalogue:
    """As `load_catalogue`, from text (problems name `file`)."""
    try:
        doc = load_yaml(text, file)
    except YamlProblems as exc:
        raise ConfigError(exc.problems) from exc
    return _Reader(doc, calendars, modes).catalogue()


class _Reader:
    """Collects every problem of one document before giving up."""

    def __init__(
        self,
        doc: PositionedDocument,
        calendars: Collection[str] | None,
        modes: Collection[str] | None,
    ) -> None:
        self.doc = doc
        self.calendars = calendars
        self.modes = modes
        self.problems: list[ConfigProblem] = []

    def fail(self, path: tuple[PathPart, ...], message: str, *, at_key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, message, at_key=at_key))

    def catalogue(self) -> Catalogue:
        data = self.doc.data if self.doc.data is not None else {}
        if not isinstance(data, dict):
            raise ConfigError(
                [self.doc.problem((), "expected a mapping (departments, categories, ...)")]
            )
        self.unknown_fields(data, (), _ROOT_FIELDS)
        defaults = Catalogue({}, {})
        calendar = self.calendar(data.get("calendar", defaults.calendar))
        hours = self.working_hours(data.get("working_hours"), defaults.working_hours)
        sign_for = self.period(data.get("sign_for"), ("sign_for",), defaults.sign_for)
        default_deadline = self.period(
            data.get("default_deadline"), ("default_deadline",), defaults.default_deadline
        )
        default_modes = self.mode_periods(data.get("default_modes"), ("default_modes",))
        chase = self.fraction(data, "chase_at_fraction_left", defaults.chase_at_fraction_left)
        amber = self.fraction(
            data, "amber_below_fraction_left", defaults.amber_below_fraction_left
        )
        window = self.window(data.get("duplicate_window_days", defaults.duplicate_window_days))
        departments = self.departments(data.get("departments"))
        categories = self.categories(data.get("categories"), departments)
        if self.problems:
            raise ConfigError(self.problems)
        return Catalogue(
            categories=categories,
            departments=departments,
            default_deadline=default_deadline,
            default_modes=default_modes,
            working_hours=hours,
            sign_for=sign_for,
            calendar=calendar,
            chase_at_fraction_left=chase,
            amber_below_fraction_left=amber,
            duplicate_window_days=window,
        )

    def unknown_fields(
        self, data: dict[str, Any], where: tuple[PathPart, ...], known: tuple[str, ...]
    ) -> None:
        for key in data:
            if key not in known:
                expected = ", ".join(known)
                self.fail((*where, key), f"unknown field (expected {expected})", at_key=True)

    def calendar(self, raw: Any) -> str:
        if not isinstance(raw, str) or not raw.strip():
            self.fail(("calendar",), "expected the name of a holiday calendar in centre.yaml")
            return ""
        if self.calendars is not None and raw not in self.calendars:
            known = ", ".join(sorted(self.calendars)) or "none"
            self.fail(("calendar",), f"no holiday calendar named {raw!r} (known: {known})")
        return raw

    def working_hours(self, raw: Any, default: WorkingHours) -> WorkingHours:
        if raw is None:
            return default
        if isinstance(raw, str) or (
            isinstance(raw, list) and raw and all(isinstance(r, str) for r in raw)
        ):
            try:
                return WorkingHours.parse(raw)
            except ValueError as exc:
                self.fail(("working_hours",), str(exc))
                return default
        self.fail(("working_hours",), 'expected "HH:MM-HH:MM" or a list of such ranges')
        return default

    def period(
        self, raw: Any, where: tuple[PathPart, ...], default: WorkingPeriod
    ) -> WorkingPeriod:
        if raw is None:
            return default
        try:
            return WorkingPeriod.parse(raw)
        except ValueError as exc:
            self.fail(where, str(exc))
            return default

    def mode_periods(self, raw: Any, where: tuple[PathPart, ...]) -> dict[str, WorkingPeriod]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.fail(where, "expected a mapping of mode: deadline (e.g. emergency: 1d)")
            return {}
        out: dict[str, WorkingPeriod] = {}
        for mode, value in raw.items():
            if self.modes is not None and mode not in self.modes:
                known = ", ".join(sorted(self.modes))
                self.fail((*where, mode), f"no centre mode named {mode!r} (known: {known})",
                          at_key=True)
                continue
            try:
                out[mode] = WorkingPeriod.parse(value)
            except ValueError as exc:
                self.fail((*where, mode), str(exc))
        return out

    def fraction(self, data: dict[str, Any], key: str, default: float) -> float:
        raw = data.get(key, default)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw < 1:
            self.fail((key,), "expected a fraction between 0 and 1 (e.g. 0.25)")
            return default
        return float(raw)

    def window(self, raw: Any) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            self.fail(("duplicate_window_days",), "expected a whole number of days, at least 1")
            return 7
        return raw

    def departments(self, raw: Any) -> dict[str, Department]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.fail(("departments",), "expected a mapping of code: {name, contact}")
            return {}
        out: dict[str, Department] = {}
        for code, body in raw.items():
            where: tuple[PathPart, ...] = ("departments", code)
            if not _CODE.match(code):
                self.fail(where, "a department code is 1-16 letters or digits", at_key=True)
                continue
            if isinstance(body, str):  # `zjj: 市住房和城乡建设局` is the short form
                body = {"name": body}
            if not isinstance(body, dict):
                self.fail(where, "expected a name or {name, contact}")
                continue
            self.unknown_fields(body, where, _DEPARTMENT_FIELDS)
            name = self.text(body.get("name"), (*where, "name"), required=True)
            contact = self.text(body.get("contact"), (*where, "contact"), required=False)
            if name:
                out[code] = Department(code, name, contact)
        return out

    def text(self, raw: Any, where: tuple[PathPart, ...], *, required: bool) -> str:
        if raw is None and not required:
            return ""
        if isinstance(raw, int) and not isinstance(raw, bool):
            return str(raw)  # a phone number written without quotes
        if not isinstance(raw, str) or (required and not raw.strip()):
            self.fail(where, "expected text" if not required else "required text is missing")
            return ""
        return raw.strip()

    def code(self, raw: Any, where: tuple[PathPart, ...]) -> str | None:
        # `11` arrives as an int; a code is text (and `0103` already is: leading zero).
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str) or not _CODE.match(raw):
            self.fail(where, "expected a category code of 1-16 letters or digits (e.g. \"0103\")")
            return None
        return raw

    def categories(
        self, raw: Any, departments: Mapping[str, Department]
    ) -> dict[str, Category]:
        if raw is None:
            return {}
        if not isinstance(raw, list):
            self.fail(("categories",), "expected a list of categories")
            return {}
        found: dict[str, Category] = {}
        index_of: dict[str, int] = {}
        # Every well-coded entry, even one with other problems, so that its children are
        # not "unknown parent" and loops through it are still found.
        parents: dict[str, str | None] = {}
        for i, item in enumerate(raw):
            where: tuple[PathPart, ...] = ("categories", i)
            if not isinstance(item, dict):
                self.fail(where, "expected a category {code, name, parent, deadline, ...}")
                continue
            self.unknown_fields(item, where, _CATEGORY_FIELDS)
            before = len(self.problems)
            code = self.code(item.get("code"), (*where, "code"))
            name = self.text(item.get("name"), (*where, "name"), required=True)
            en = self.text(item.get("en"), (*where, "en"), required=False)
            parent = (
                self.code(item["parent"], (*where, "parent"))
                if item.get("parent") is not None else None
            )
            deadline = (
                self.period(item["deadline"], (*where, "deadline"), WorkingPeriod(days=1))
                if "deadline" in item else None
            )
            modes = self.mode_periods(item.get("modes"), (*where, "modes"))
            department = item.get("department")
            if department is not None and department not in departments:
                self.fail((*where, "department"), f"no department with code {department!r}")
            if code is not None and code in found:
                first = index_of[code]
                self.fail((*where, "code"), f"duplicate category code {code!r} "
                          f"(first at categories[{first}])")
                continue
            if code is None:
                continue
            index_of[code] = i
            parents[code] = parent
            if len(self.problems) == before:
                found[code] = Category(
                    code, name, en, parent, deadline, modes,
                    str(department) if department is not None else None,
                )
        for code, parent_code in parents.items():
            if parent_code is not None and parent_code not in parents:
                self.fail(("categories", index_of[code], "parent"),
                          f"no category with code {parent_code!r}")
        for cycle in _cycles(parents):
            shown = " > ".join((*cycle, cycle[0]))
            self.fail(("categories", index_of[cycle[0]], "parent"),
                      f"categories form a loop: {shown}")
        return found


def _cycles(parents: Mapping[str, str | None]) -> Iterator[tuple[str, ...]]:
    """Each parent loop once, starting at its first member in file order."""
    reported: set[str] = set()
    for start in parents:
        path: list[str] = []
        current: str | None = start
        while current is not None and current in parents and current not in reported:
            if current in path:
                loop = path[path.index(current):]
                reported.update(loop)
                order = list(parents)
                first = min(loop, key=order.index)
                at = loop.index(first)
                yield tuple(loop[at:] + loop[:at])
                break
            path.append(current)
            current = parents[current]
        reported.update(path)
