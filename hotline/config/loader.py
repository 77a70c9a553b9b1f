"""Load a centre directory: centre.yaml (+ included files), flows and prompts, checked.

`load_centre` either returns a fully validated `Centre` or raises `ConfigError` with
every problem it could find, each as `file:line:column field.path: message`. Checks
run in layers (YAML syntax, then shape, then cross-references, then the flow
validator) and a later layer runs only on the parts that passed the earlier ones, so
one typo does not produce a cascade of follow-on errors.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError

from hotline.config.messages import data_path, explain
from hotline.config.references import check_references
from hotline.config.schema import (
    Agent,
    CentreConfig,
    CentreInfo,
    Files,
    Line,
    LineKind,
    Mode,
    Queue,
    Roster,
    Seat,
    Shift,
    merge_patch,
)
from hotline.config.suggest import closest
from hotline.config.yaml_positions import PositionedDocument, YamlProblems, load_yaml_file
from hotline.ivr.model import NAME_PATTERN, Flow
from hotline.ivr.prompts import PromptCatalogue
from hotline.ivr.validate import FlowCheckContext, check_flows, check_intake
from hotline.queue.announcements import DEFAULT_LANGUAGE as BUILT_IN_LANGUAGE
from hotline.queue.announcements import KERNEL_PROMPTS, PLACEHOLDERS, placeholders_in
from hotline.vocabulary.problems import ConfigError, ConfigProblem, PathPart, Problem

CENTRE_FILE = "centre.yaml"

# Sections whose names the flow validator checks flows against.
FLOW_CONTEXT_SECTIONS = frozenset({"centre", "languages", "lines", "queues", "modes",
                                   "schedules", "holidays", "caller_lists", "skills"})

# Keys that name a credential. Secrets come from the environment (HOTLINE_*), never YAML,
# so that config can be committed, diffed and shown in `hotline check` output safely.
_SECRET_KEY = re.compile(
    r"(?:^|[_-])(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|"
    r"credentials?|auth)(?:[_-]|$)",
    re.IGNORECASE,
)
_URL_WITH_PASSWORD = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")
SECRETS_HINT = (
    "secrets never go in configuration files: set them in the environment "
    "(HOTLINE_ARI_PASSWORD, HOTLINE_AMI_SECRET, HOTLINE_TWILIO_AUTH_TOKEN, ...; "
    "see hotline.config.settings)"
)


@dataclass(frozen=True)
class Centre:
    """A loaded, fully checked centre: the schema plus its flows and prompt catalogue."""

    config: CentreConfig
    flows: Mapping[str, Flow]
    prompts: PromptCatalogue
    directory: Path
    # Things that work but fall short of a service norm (`warning: ...` messages).
    warnings: tuple[ConfigProblem, ...] = ()

    @property
    def info(self) -> CentreInfo:
        return self.config.centre

    @property
    def lines(self) -> Mapping[str, Line]:
        return self.config.lines

    @property
    def queues(self) -> Mapping[str, Queue]:
        return self.config.queues

    @property
    def modes(self) -> Mapping[str, Mode]:
        return self.config.modes

    @property
    def agents(self) -> Mapping[str, Agent]:
        return self.config.agents

    @property
    def seats(self) -> Mapping[str, Seat]:
        return self.config.seats

    @property
    def shifts(self) -> Mapping[str, Shift]:
        return self.config.shifts

    @property
    def rosters(self) -> Mapping[str, Roster]:
        return self.config.rosters

    def queues_in(self, mode: str) -> dict[str, Queue]:
        """Every queue with `mode`'s overrides applied (see `CentreConfig.queues_in`)."""
        return self.config.queues_in(mode)

    def line_in(self, number: str, mode: str) -> Line:
        return self.config.line_in(number, mode)


def load_centre(path: str | Path) -> Centre:
    """Load the centre in directory `path` (or from the centre.yaml file `path`)."""
    return _Loading(Path(path)).run()


@dataclass
class _Loading:
    given: Path
    problems: list[ConfigProblem] = field(default_factory=list)
    sections: dict[str, PositionedDocument] = field(default_factory=dict)
    docs: list[PositionedDocument] = field(default_factory=list)
    prompts_doc: PositionedDocument | None = None

    def run(self) -> Centre:
        names_file = self.given.suffix in (".yaml", ".yml") and not self.given.is_dir()
        centre_file = self.given if names_file else self.given / CENTRE_FILE
        directory = centre_file.parent
        main = self._read(centre_file)
        if main is None:
            raise ConfigError(self.problems)
        self._add_sections(main, is_main=True)
        for include, item_path in _includes(main):
            doc = self._read(directory / include, main, item_path)
            if doc is not None:
                self._add_sections(doc, is_main=False)
        data = {name: doc.data[name] for name, doc in self.sections.items()}

        config, partial, unchecked = self._validate_centre(data, main)
        self._check_mode_overrides(data)
        files = config.files if config is not None else _files_or_default(data)
        flows_dir = directory / files.flows
        flow_docs = self._read_flows(flows_dir, main)
        flows = self._validate_flows(flow_docs)
        prompts = self._validate_prompts(directory / files.prompts, main)
        self._check_secrets()
        if partial is not None:
            flow_names = flow_docs.keys() if flows_dir.is_dir() else None
            references = check_references(partial, flow_names, unchecked)
            for problem in references:
                self._report_problem(problem, main)
            # The flow validator needs every flow, the prompts and the sections it checks
            # names against. It runs alongside the centre's reference problems except a
            # wrong language, which would make every prompt look untranslated.
            languages_wrong = any(_about_languages(p.path) for p in references)
            if prompts is not None and self.prompts_doc is not None and not languages_wrong:
                # Prompts the centre kernel plays itself (queue announcements): no flow
                # names them, so the flow validator cannot see that one is missing.
                for problem in kernel_prompt_problems(prompts, partial):
                    self.problems.append(self.prompts_doc.problem(problem.path, problem.message,
                                                                  at_key=True))
            if (prompts is not None and len(flows) == len(flow_docs) and not languages_wrong
                    and not unchecked & FLOW_CONTEXT_SECTIONS):
                self._check_flows(flows, prompts, partial, flow_docs)
        if self.problems or config is None or prompts is None:
            raise ConfigError(list(dict.fromkeys(self.problems)))  # each problem once
        warnings = self._intake_warnings(config, flows, flow_docs)
        return Centre(config, MappingProxyType(dict(flows)), prompts, directory, warnings)

    def _intake_warnings(self, config: CentreConfig, flows: Mapping[str, Flow],
                         docs: Mapping[str, PositionedDocument]) -> tuple[ConfigProblem, ...]:
        """Intake lines whose flow (in any mode) makes callers choose before a person."""
        lines = {number: [config.line_in(number, mode).flow for mode in config.modes]
                 + [line.flow]
                 for number, line in config.lines.items()
                 if line.kind is LineKind.INTAKE and line.enabled}
        return tuple(docs[name].problem(problem.path, problem.message)
                     for name, problems in check_intake(flows, lines).items()
                     for problem in problems)

    # --- reading --------------------------------------------------------------------

    def _read(self, file: Path, referrer: PositionedDocument | None = None,
              ref_path: tuple[PathPart, ...] = ()) -> PositionedDocument | None:
        if not file.is_file() and referrer is not None:
            self.problems.append(referrer.problem(ref_path, f"file not found: {file}"))
            return None
        try:
            doc = load_yaml_file(file)
        except YamlProblems as exc:
            self.problems.extend(exc.problems)
            return None
        self.docs.append(doc)
        return doc

    def _add_sections(self, doc: PositionedDocument, *, is_main: bool) -> None:
        if not isinstance(doc.data, dict):
            what = "centre file" if is_main else "included file"
            self.problems.append(
                doc.problem((), f"the {what} must be a mapping of sections (centre:, lines:, ...)")
            )
            return
        for name in doc.data:
            if not is_main and name == "files":
                self.problems.append(doc.problem(
                    (name,), "only centre.yaml may say which files make up the centre", at_key=True
                ))
                continue
            earlier = self.sections.get(name)
            if earlier is not None:
                where = earlier.locate((name,), at_key=True)
                self.problems.append(doc.problem(
                    (name,),
                    f"section {name!r} is already defined in {earlier.file}:{where.line}",
                    at_key=True,
                ))
                continue
            self.sections[name] = doc

    # --- validation -----------------------------------------------------------------

    def _doc_for(self, path: tuple[PathPart, ...], main: PositionedDocument) -> PositionedDocument:
        if path and isinstance(path[0], str) and path[0] in self.sections:
            return self.sections[path[0]]
        return main

    def _report_problem(self, problem: Problem, main: PositionedDocument) -> None:
        doc = self._doc_for(problem.path, main)
        last = problem.path[-1] if problem.path else None
        # "no skill named 'x'" about a mapping key points at the key, not at its value.
        at_key = isinstance(last, str) and repr(last) in problem.message
        self.problems.append(doc.problem(problem.path, problem.message, at_key=at_key))

    def _validate_centre(self, data: dict[str, Any], main: PositionedDocument
                         ) -> tuple[CentreConfig | None, CentreConfig | None, frozenset[str]]:
        """(the config if valid, a config of the valid sections, the invalid sections).

        Sections validate independently, so with some invalid the rest can still be
        cross-checked: the invalid ones are replaced by defaults and named as unchecked.
        """
        try:
            config = CentreConfig.model_validate(data)
            return config, config, frozenset()
        except ValidationError as exc:
            items = explain(exc, data, CentreConfig)
        for item in items:
            doc = self._doc_for(item.path, main)
            if item.at_key and _holds_secret(doc, item.path):
                continue  # reported once, with the secrets hint
            self.problems.append(doc.problem(item.path, item.message, at_key=item.at_key))
        if any(not item.path for item in items):
            return None, None, frozenset()  # not even a mapping of sections
        partial, unchecked = _repaired(data, [item.path for item in items])
        return None, partial, frozenset(unchecked)

    def _check_mode_overrides(self, data: dict[str, Any]) -> None:
        """A mode's partial queue override must make a valid queue once merged."""
        modes, queues = data.get("modes"), data.get("queues")
        if not isinstance(modes, dict) or not isinstance(queues, dict):
            return
        for mode_name, mode in modes.items():
            overrides = mode.get("queues") if isinstance(mode, dict) else None
            if not isinstance(overrides, dict):
                continue
            for queue_name, patch in overrides.items():
                base = queues.get(queue_name)
                if not isinstance(patch, dict) or not isinstance(base, dict):
                    continue  # not a mapping / unknown queue: reported elsewhere
                merged = merge_patch(base, patch)
                try:
                    Queue.model_validate(merged)
                except ValidationError as exc:
                    self._report_override(exc, merged, patch, ("modes", mode_name, "queues",
                                                               queue_name))

    def _report_override(self, exc: ValidationError, merged: dict[str, Any],
                         patch: dict[str, Any], at: tuple[PathPart, ...]) -> None:
        doc = self.sections["modes"]
        for item in explain(exc, merged, Queue):
            inner, _ = data_path(item.path, patch)
            # Only errors the override itself causes; the queue's own are reported already.
            if inner and inner[0] in patch:
                doc_path = (*at, *item.path)
                self.problems.append(doc.problem(doc_path, item.message, at_key=item.at_key))

    def _read_flows(self, flows_dir: Path, main: PositionedDocument
                    ) -> dict[str, PositionedDocument]:
        if not flows_dir.is_dir():
            self.problems.append(main.problem(("files", "flows"),
                                              f"flows directory not found: {flows_dir}"))
            return {}
        docs: dict[str, PositionedDocument] = {}
        for file in sorted(flows_dir.glob("*.yml")):
            self.problems.append(ConfigProblem(
                str(file), 1, 1, (), f"flow files end in .yaml: rename it to {file.stem}.yaml"))
        for file in sorted(flows_dir.glob("*.yaml")):
            doc = self._read(file)
            if doc is None:
                docs[file.stem] = PositionedDocument(str(file), None)
                continue
            docs[file.stem] = doc
            if not re.match(NAME_PATTERN, file.stem):
                self.problems.append(doc.problem(
                    (), f"flow file name {file.name!r} is not a valid flow name "
                        "(letters, digits, '_' and '-')"))
        return docs

    def _validate_model(self, model: type[BaseModel], doc: PositionedDocument) -> Any:
        try:
            return model.model_validate(doc.data)
        except ValidationError as exc:
            for item in explain(exc, doc.data, model):
                if item.at_key and _holds_secret(doc, item.path):
                    continue
                self.problems.append(doc.problem(item.path, item.message, at_key=item.at_key))
            return None

    def _validate_flows(self, docs: Mapping[str, PositionedDocument]) -> dict[str, Flow]:
        flows: dict[str, Flow] = {}
        for stem, doc in docs.items():
            if doc.data is None and doc.spots == {}:
                continue  # unreadable: already reported
            flow = self._validate_model(Flow, doc)
            if not isinstance(flow, Flow):
                continue
            if flow.name != stem:
                self.problems.append(doc.problem(
                    ("name",), f"flow is named {flow.name!r} but its file is {stem}.yaml; "
                               "the file name (without .yaml) must equal the name"))
                continue
            flows[stem] = flow
        return flows

    def _validate_prompts(self, file: Path, main: PositionedDocument) -> PromptCatalogue | None:
        if not file.is_file():
            self.problems.append(main.problem(("files", "prompts"),
                                              f"prompt catalogue not found: {file}"))
            return None
        doc = self._read(file)
        if doc is None:
            return None
        self.prompts_doc = doc
        catalogue = self._validate_model(PromptCatalogue, doc)
        return catalogue if isinstance(catalogue, PromptCatalogue) else None

    def _check_secrets(self) -> None:
        for doc in self.docs:
            for path in doc.spots:
                if _holds_secret(doc, path):
                    self.problems.append(doc.problem(
                        path, f"{path[-1]!r} looks like a secret; {SECRETS_HINT}", at_key=True))
            for path, value in _strings(doc.data):
                if _URL_WITH_PASSWORD.search(value):
                    self.problems.append(doc.problem(
                        path, f"this URL contains a password; {SECRETS_HINT}"))

    def _check_flows(self, flows: dict[str, Flow], prompts: PromptCatalogue,
                     config: CentreConfig, docs: Mapping[str, PositionedDocument]) -> None:
        for name, problems in check_flows(flows, flow_check_context(config, prompts)).items():
            doc = docs[name]
            for problem in problems:
                self.problems.append(doc.problem(problem.path, problem.message))


_REPAIR_ROUNDS = 8
# An agent with a field dropped would look unskilled and make queues look unstaffed:
# with a bad agent, the agents section stays unchecked as a whole.
_WHOLE_SECTIONS = frozenset({"agents"})


def _repaired(data: dict[str, Any], bad: list[tuple[PathPart, ...]]
              ) -> tuple[CentreConfig | None, set[str]]:
    """A config of what is valid, so cross-references are checked despite shape errors.

    A bad field inside an item (`queues.general.ring_timeout_s: 0`) is dropped so the
    item takes the default, and the rest of the item (its overflow queue, its skills) is
    still cross-checked. A bad section or item as a whole drops the section, which is
    then reported as unchecked (its references are not checked, to avoid follow-on
    errors about names it defines). Returns (the config or None, unchecked sections).
    """
    sections = set(CentreConfig.model_fields)
    work = copy.deepcopy(data)
    unchecked: set[str] = set()
    for _ in range(_REPAIR_ROUNDS):
        for path in bad:
            section = str(path[0]) if path else ""
            if (len(path) >= 3 and section in work and section not in _WHOLE_SECTIONS
                    and _drop(work, path)):
                continue
            unchecked.add(section)
            # A misspelt section name: the section meant is as good as missing.
            near = closest(section, sections) if section not in sections else None
            if near is not None:
                unchecked.add(near)
        work = {name: value for name, value in work.items() if name not in unchecked}
        work.setdefault("centre", {"name": "(invalid)"})
        try:
            return CentreConfig.model_validate(work), unchecked
        except ValidationError as exc:
            bad = [item.path for item in explain(exc, work, CentreConfig)]
    return None, unchecked


def _drop(data: Any, path: tuple[PathPart, ...]) -> bool:
    """Remove the value at `path` (or, for a field that is missing, the thing holding
    it, when that is at least an item of a section); False when nothing could go."""
    for end in (len(path), len(path) - 1):
        if end < 3:
            return False
        parent = data
        for part in path[:end - 1]:
            parent, found = _step_into(parent, part)
            if not found:
                break
        else:
            last = path[end - 1]
            if isinstance(parent, dict) and last in parent:
                del parent[last]
                return True
            if isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
                del parent[last]
                return True
    return False


def _step_into(container: Any, part: PathPart) -> tuple[Any, bool]:
    if isinstance(container, dict) and part in container:
        return container[part], True
    if isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container):
        return container[part], True
    return None, False


def _files_or_default(data: dict[str, Any]) -> Files:
    # The centre has shape problems elsewhere; still read flows and prompts from where
    # `files` says (its own problems are reported by the centre's validation).
    try:
        return Files.model_validate(data.get("files", {}))
    except ValidationError:
        return Files()


def _includes(doc: PositionedDocument) -> Iterator[tuple[str, tuple[PathPart, ...]]]:
    files = doc.data.get("files") if isinstance(doc.data, dict) else None
    include = files.get("include") if isinstance(files, dict) else None
    if isinstance(include, list):
        for i, item in enumerate(include):
            if isinstance(item, str):
                yield item, ("files", "include", i)


def _about_languages(path: tuple[PathPart, ...]) -> bool:
    return path[:1] in (("centre",), ("languages",)) or (
        path[:1] == ("lines",) and path[-1:] == ("language",))


def _holds_secret(doc: PositionedDocument, path: tuple[PathPart, ...]) -> bool:
    """A key named like a credential with a plain value; a mapping under such a name is
    something else (a `password_reset` menu node, an `enter_password` prompt)."""
    if not path or not isinstance(path[-1], str) or not _SECRET_KEY.search(path[-1]):
        return False
    spot = doc.spots.get(path)
    return spot is not None and not spot.container


def _strings(
    data: Any, path: tuple[PathPart, ...] = ()
) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _strings(value, (*path, index))


def kernel_prompt_problems(prompts: PromptCatalogue, config: CentreConfig) -> list[Problem]:
    """Kernel prompts (`KERNEL_PROMPTS`, queue announcements) a line's callers would not
    hear in their language, or with placeholders the kernel does not fill.

    The kernel has built-in Mandarin texts, so a catalogue may leave an id out for
    Mandarin lines; an id it has must cover every line's language. Paths are in the
    prompt catalogue's file.
    """
    default = config.centre.default_language
    fallback = default if config.centre.prompt_fallback else None
    languages = sorted({line.language or default for line in config.lines.values()})
    problems: list[Problem] = []
    for prompt_id in KERNEL_PROMPTS:
        have = prompts.languages_of(prompt_id)
        if not have:
            have = frozenset({BUILT_IN_LANGUAGE})
        missing = [lang for lang in languages if lang not in have and fallback not in have]
        if missing and prompt_id not in prompts:
            problems.append(Problem((), f"prompt {prompt_id!r} is missing for "
                                        f"{', '.join(missing)}: the centre plays it to "
                                        "callers waiting in a queue"))
        elif missing:
            problems.append(Problem((prompt_id,), f"prompt {prompt_id!r} has no text in "
                                                  f"{', '.join(missing)} (a line uses it)"))
        allowed = PLACEHOLDERS.get(prompt_id, frozenset())
        for lang in sorted(prompts.languages_of(prompt_id)):
            unknown = placeholders_in(prompts.resolve(prompt_id, lang).text) - allowed
            if unknown:
                known = ", ".join("{" + n + "}" for n in sorted(allowed)) or "none"
                problems.append(Problem((prompt_id, lang), "unknown placeholder "
                                        f"{', '.join('{' + n + '}' for n in sorted(unknown))} "
                                        f"(known: {known})"))
    return problems


def flow_check_context(config: CentreConfig, prompts: PromptCatalogue) -> FlowCheckContext:
    """What the flow validator needs to know about the rest of the centre."""
    default = config.centre.default_language
    languages: dict[str, set[str]] = {}
    for number, line in config.lines.items():
        language = line.language or default
        flows = {line.flow}
        flows.update(mode.lines[number].flow or line.flow
                     for mode in config.modes.values() if number in mode.lines)
        for flow in flows:
            languages.setdefault(flow, set()).add(language)
    return FlowCheckContext(
        prompts=prompts,
        queues=frozenset(config.queues),
        modes=frozenset(config.modes),
        schedules=frozenset(config.schedules),
        calendars=frozenset(config.holidays),
        caller_lists=frozenset(config.caller_lists),
        languages={flow: frozenset(langs) for flow, langs in languages.items()},
        default_language=default,
        fallback_language=default if config.centre.prompt_fallback else None,
        skills=frozenset(config.skills),
    )
