"""Pydantic validation errors rewritten as plain words, with the field path in the file.

Pydantic's `loc` mixes field names with union tags (`menu`, `function-after[...]`),
key markers (`[key]`) and names that a before-validator moved (`texts`). We follow the
`loc` through the data actually written, skipping parts that are not in it, so the
path (and hence the line and column) is the one the author typed.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, RootModel, ValidationError
from pydantic_core import ErrorDetails

from hotline.config.suggest import did_you_mean
from hotline.vocabulary.problems import PathPart

NAME_HELP = "use letters, digits, '_' and '-', starting with a letter or '_'"


@dataclass(frozen=True, slots=True)
class Located:
    """One rewritten error: where in the data and what to say."""

    path: tuple[PathPart, ...]
    message: str
    at_key: bool = False


def explain(error: ValidationError, data: Any, model: type[BaseModel]) -> list[Located]:
    """Every error of `error` (raised validating `data` as `model`) in plain words."""
    result: list[Located] = []
    seen: set[tuple[tuple[PathPart, ...], str]] = set()
    for detail in error.errors(include_url=False):
        located = _explain_one(detail, data, model)
        if (located.path, located.message) not in seen:
            seen.add((located.path, located.message))
            result.append(located)
    return result


def data_path(loc: Sequence[int | str], data: Any) -> tuple[tuple[PathPart, ...], bool]:
    """The path in `data` that `loc` points at, and whether it ends at a mapping key."""
    path: list[PathPart] = []
    current = data
    at_key = False
    parts = list(loc)
    for i, part in enumerate(parts):
        if part == "[key]":
            at_key = True
            continue
        later = parts[i + 1] if i + 1 < len(parts) else None
        child, found = _child(current, part)
        if found:
            # A union tag can collide with a key of the data (`queue` node with a `queue`
            # field): prefer skipping when only skipping lets the next part resolve.
            if (later is not None and later != "[key]" and not _child(child, later)[1]
                    and _child(current, later)[1]):
                continue
            path.append(part)
            current = child
        elif isinstance(current, dict) and i == len(parts) - 1:
            path.append(part)  # a missing field: name it, the position is its parent's
            current = None
    return tuple(path), at_key


def _at(data: Any, path: tuple[PathPart, ...]) -> Any:
    for part in path:
        data, _ = _child(data, part)
    return data


def _child(container: Any, part: int | str) -> tuple[Any, bool]:
    if isinstance(container, dict) and isinstance(part, str) and part in container:
        return container[part], True
    if isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container):
        return container[part], True
    return None, False


def _at_named_field(path: tuple[PathPart, ...], value: Any, message: str) -> Located | None:
    """A vocabulary dataclass checks its fields in `__post_init__` and names the field
    first ("answered_pct must be ..."): point at that field, as pydantic would."""
    name, sep, rest = message.partition(" ")
    if sep and isinstance(value, dict) and name in value:
        return Located((*path, name), rest)
    return None


def _explain_one(detail: ErrorDetails, data: Any, model: type[BaseModel]) -> Located:
    loc = detail["loc"]
    path, at_key = data_path(loc, data)
    kind = detail["type"]
    value = detail.get("input")
    ctx: dict[str, Any] = dict(detail.get("ctx") or {})
    field = str(path[-1]) if path else ""
    if kind == "value_error":
        located = _at_named_field(path, value, str(ctx.get("error", "")))
        if located is not None:
            return located
    # A stdlib dataclass (the vocabulary's ServiceTarget) reports unknown keys this way.
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        allowed = fields_at(model, loc[:-1])
        hint = did_you_mean(field, allowed) if allowed else ""
        listing = ""
        if allowed and not hint:
            listing = f"; allowed here: {', '.join(sorted(allowed))}"
        return Located(path, f"unknown field {field!r}{hint}{listing}", at_key=True)
    if kind == "missing":
        return Located(path, f"missing required field {field!r}")
    if kind in ("union_tag_invalid", "literal_error", "enum"):
        expected = _options(ctx.get("expected_tags") or ctx.get("expected") or "")
        word = str(ctx.get("tag", value))
        what = "type" if kind == "union_tag_invalid" else "value"
        if kind == "union_tag_invalid":
            tag_field = str(ctx.get("discriminator", "")).strip("'\"")
            if tag_field and _child(_at(data, path), tag_field)[1]:
                path = (*path, tag_field)
        hint = did_you_mean(word, expected)
        return Located(path, f"unknown {what} {word!r}{hint}; expected one of: "
                             f"{', '.join(expected)}", at_key=at_key)
    if kind == "union_tag_not_found":
        tag_field = str(ctx.get("discriminator", "type")).strip("'\"")
        return Located(path, f"missing field {tag_field!r} saying what this is")
    return Located(path, _plain(kind, detail["msg"], value, ctx), at_key=at_key)


def _options(expected: str) -> list[str]:
    # pydantic writes "'a', 'b' or 'c'"
    cleaned = expected.replace(" or ", ", ")
    return [p.strip().strip("'\"") for p in cleaned.split(",") if p.strip()]


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    return repr(value)


def _plain(kind: str, msg: str, value: Any, ctx: dict[str, Any]) -> str:
    got = _show(value)
    simple = {
        "int_parsing": f"expected a whole number, got {got}",
        "int_type": f"expected a whole number, got {got}",
        "int_from_float": f"expected a whole number, got {got}",
        "float_parsing": f"expected a number, got {got}",
        "float_type": f"expected a number, got {got}",
        "bool_parsing": f"expected true or false, got {got}",
        "bool_type": f"expected true or false, got {got}",
        "string_type": f"expected text, got {got}",
        "dict_type": f"expected a mapping (name: value), got {got}",
        "list_type": f"expected a list, got {got}",
        "tuple_type": f"expected a list, got {got}",
        "model_type": f"expected a mapping of fields, got {got}",
        "model_attributes_type": f"expected a mapping of fields, got {got}",
        "date_parsing": f"expected a date as YYYY-MM-DD, got {got}",
        "date_type": f"expected a date as YYYY-MM-DD, got {got}",
        "date_from_datetime_inexact": f"expected a date without a time, got {got}",
        "date_from_datetime_parsing": f"expected a date as YYYY-MM-DD, got {got}",
        "string_too_short": "must not be empty",
        "finite_number": "must be a finite number",
    }
    if kind in simple:
        return simple[kind]
    bounds = {
        "greater_than": ("more than", "gt"),
        "greater_than_equal": ("at least", "ge"),
        "less_than": ("less than", "lt"),
        "less_than_equal": ("at most", "le"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {ctx.get(key)}, got {got}"
    if kind == "string_pattern_mismatch":
        return _pattern_message(str(ctx.get("pattern", "")), value)
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"allows at most {ctx.get('max_length')} item(s)"
    if kind in ("value_error", "assertion_error"):
        for prefix in ("Value error, ", "Assertion failed, "):
            if msg.startswith(prefix):
                return msg[len(prefix):]
    return msg[0].lower() + msg[1:] if msg else kind


def _pattern_message(pattern: str, value: Any) -> str:
    shown = repr(value)
    if pattern.startswith("^[A-Za-z_][A-Za-z0-9_-]*$"):
        return f"{shown} is not a valid name: {NAME_HELP}"
    if "[0-9*#]{1,32}" in pattern:
        return f"{shown} is not a phone number (digits, an optional leading '+')"
    if pattern.startswith("^[a-z]{2,3}"):
        return f"{shown} is not a language code such as zh, en or zh-CN"
    if "/[^\\s/]+" in pattern:
        return f"{shown} is not an endpoint as TECH/name, e.g. PJSIP/8001"
    if pattern.startswith("^[0-9+*#]"):
        return f"{shown} is not a dialled number (digits, +, *, #, then letters/digits/-)"
    if pattern == "^[A-Za-z0-9_-]+$":
        return f"{shown} is not a valid id: use letters, digits, '_' and '-'"
    return f"{shown} does not have the required form {pattern}"


# --- which fields a model allows at a loc (for "did you mean") -------------------------


def fields_at(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The field names of the model found by following `loc` from `model`, or []."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    plain = _unwrap(current)
    if dataclasses.is_dataclass(plain) and isinstance(plain, type):
        return [f.name for f in dataclasses.fields(plain)]
    target = _unwrap_model(current)
    if target is None:
        return []
    return list(target.model_fields)


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _unwrap_model(tp: Any) -> type[BaseModel] | None:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel) and not issubclass(tp, RootModel):
        return tp
    if _is_union(tp):
        models = [m for m in map(_unwrap_model, typing.get_args(tp)) if m is not None]
        return models[0] if len(models) == 1 else None
    return None


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _step(tp: Any, part: int | str) -> Any:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, RootModel):
        return _step(tp.model_fields["root"].annotation, part)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(str(part))
        if field is not None:
            return field.annotation
        return tp  # a name a before-validator introduced: stay on this model
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is dict:
        return args[1] if part != "[key]" else args[0]
    if origin in (list, tuple, set, frozenset):
        return args[0] if args else None
    if _is_union(tp):
        members = [_unwrap(a) for a in args]
        for member in members:  # a discriminated union's tag selects the member
            if isinstance(member, type) and issubclass(member, BaseModel):
                tag = member.model_fields.get("type")
                if tag is not None and typing.get_args(tag.annotation) == (part,):
                    return member
        for member in members:
            if member is type(None):
                continue
            if typing.get_origin(member) in (dict, list, tuple) or (
                isinstance(member, type) and issubclass(member, BaseModel)
            ):
                return _step(member, part)
        return None
    return None
