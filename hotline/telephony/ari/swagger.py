"""Asterisk's own ARI description (swagger 1.2 JSON) as a validator.

Used by the fake Asterisk (every request it receives is checked) and by tests (every
frame it sends is checked against `events.json`). Pure functions, no I/O after load.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    param_type: str  # path, query, body
    data_type: str
    required: bool
    allow_multiple: bool
    allowable: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class Operation:
    template: str  # e.g. /channels/{channelId}/play
    method: str
    nickname: str
    params: tuple[Param, ...]


@dataclass(frozen=True, slots=True)
class RouteMatch:
    operation: Operation | None  # None: the path exists but not with this method
    path_params: Mapping[str, str]


class AriSpec:
    """The operations and models of one `ari-api-docs` directory."""

    def __init__(self, operations: list[Operation], models: dict[str, dict[str, Any]]) -> None:
        self.operations = operations
        self.models = models
        self._routes: list[tuple[re.Pattern[str], str]] = []
        for template in dict.fromkeys(op.template for op in operations):
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
            self._routes.append((re.compile(f"^{pattern}$"), template))
        # Literal segments beat parameters (/channels/create vs /channels/{channelId}).
        self._routes.sort(key=lambda route: route[1].count("{"))

    @classmethod
    def load(cls, docs_dir: Path) -> AriSpec:
        operations: list[Operation] = []
        models: dict[str, dict[str, Any]] = {}
        for path in sorted(docs_dir.glob("*.json")):
            if path.name == "resources.json":
                continue
            doc = json.loads(path.read_text(encoding="utf-8"))
            models.update(doc.get("models", {}))
            for api in doc.get("apis", []):
                for op in api.get("operations", []):
                    params = tuple(
                        Param(
                            name=p["name"],
                            param_type=p["paramType"],
                            data_type=p.get("dataType", "string"),
                            required=bool(p.get("required", False)),
                            allow_multiple=bool(p.get("allowMultiple", False)),
                            allowable=p.get("allowableValues"),
                        )
                        for p in op.get("parameters", [])
                    )
                    operations.append(
                        Operation(api["path"], op["httpMethod"], op.get("nickname", ""), params)
                    )
        return cls(operations, models)

    def match(self, method: str, path: str) -> RouteMatch | None:
        """Find the operation for a path below /ari; None if no such resource."""
        for pattern, template in self._routes:
            found = pattern.match(path)
            if found is None:
                continue
            for op in self.operations:
                if op.template == template and op.method == method:
                    return RouteMatch(op, found.groupdict())
            return RouteMatch(None, found.groupdict())
        return None

    def check_request(
        self, method: str, path: str, query: Mapping[str, str], body: Any
    ) -> list[str]:
        """Problems with one request: unknown path/method, missing or ill-typed params."""
        found = self.match(method, path)
        if found is None:
            return [f"no resource {path}"]
        if found.operation is None:
            return [f"{method} not allowed on {path}"]
        problems: list[str] = []
        known = {p.name for p in found.operation.params}
        for name in query:
            if name not in known:
                problems.append(f"unknown query parameter {name!r}")
        for param in found.operation.params:
            if param.param_type == "path":
                value: str | None = found.path_params.get(param.name)
            elif param.param_type == "query":
                value = query.get(param.name)
            else:
                if param.required and not _body_has(body, param.name):
                    problems.append(f"missing body {param.name!r}")
                continue
            if value is None:
                if param.required:
                    problems.append(f"missing required parameter {param.name!r}")
                continue
            values = value.split(",") if param.allow_multiple else [value]
            for item in values:
                problems.extend(_check_scalar(param, item))
        return problems

    def check_model(self, model: str, data: Any, where: str = "") -> list[str]:
        """Problems of `data` against a model: required keys, property types."""
        spec = self.models.get(model)
        label = where or model
        if spec is None:
            return [f"{label}: unknown model {model}"]
        if not isinstance(data, Mapping):
            return [f"{label}: not an object"]
        problems: list[str] = []
        properties = self._properties(model)
        for name, prop in properties.items():
            if prop.get("required") and name not in data:
                problems.append(f"{label}: missing required {name!r}")
        for name, value in data.items():
            prop = properties.get(name)
            if prop is None:
                continue  # extra keys: Asterisk grows its models between versions
            problems.extend(self._check_type(prop["type"], value, f"{label}.{name}"))
            allowed = prop.get("allowableValues")
            if allowed and allowed.get("valueType") == "LIST" and value not in allowed["values"]:
                problems.append(f"{label}.{name}: {value!r} not allowed")
        return problems

    def check_event(self, data: Any) -> list[str]:
        if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
            return ["event without a type"]
        kind = data["type"]
        if kind not in self.models:
            return [f"unknown event type {kind}"]
        return self.check_model(kind, data, kind)

    def _properties(self, model: str) -> dict[str, Any]:
        """A model's properties plus those of its ancestors (Event, Message)."""
        props: dict[str, Any] = {}
        for name, spec in self.models.items():
            if model in spec.get("subTypes", []):
                props.update(self._properties(name))
        props.update(self.models[model].get("properties", {}))
        return props

    def _check_type(self, kind: str, value: Any, where: str) -> list[str]:
        if kind.startswith("List[") and kind.endswith("]"):
            if not isinstance(value, list):
                return [f"{where}: expected a list"]
            problems: list[str] = []
            for index, item in enumerate(value):
                problems.extend(self._check_type(kind[5:-1], item, f"{where}[{index}]"))
            return problems
        if kind in ("string", "Date"):
            ok = isinstance(value, str)
        elif kind in ("int", "long"):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind == "double":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif kind == "boolean":
            ok = isinstance(value, bool)
        elif kind in ("object", "containers"):
            ok = isinstance(value, dict)
        else:
            return self.check_model(kind, value, where)
        return [] if ok else [f"{where}: expected {kind}, got {type(value).__name__}"]


def _body_has(body: Any, name: str) -> bool:
    return isinstance(body, Mapping) and name in body


def _check_scalar(param: Param, value: str) -> list[str]:
    problems: list[str] = []
    kind = param.data_type
    number: float | None = None
    if kind in ("int", "long"):
        if not re.fullmatch(r"-?\d+", value):
            return [f"{param.name}={value!r} is not an integer"]
        number = int(value)
    elif kind == "double":
        try:
            number = float(value)
        except ValueError:
            return [f"{param.name}={value!r} is not a number"]
    elif kind == "boolean" and value not in ("true", "false"):
        return [f"{param.name}={value!r} is not true/false"]
    allowed = param.allowable
    if allowed:
        if allowed.get("valueType") == "LIST" and value not in allowed.get("values", []):
            problems.append(f"{param.name}={value!r} not in {allowed['values']}")
        if allowed.get("valueType") == "RANGE" and number is not None:
            if "min" in allowed and number < allowed["min"]:
                problems.append(f"{param.name}={value} below {allowed['min']}")
            if "max" in allowed and number > allowed["max"]:
                problems.append(f"{param.name}={value} above {allowed['max']}")
    return problems


__all__ = ["AriSpec", "Operation", "Param", "RouteMatch"]
