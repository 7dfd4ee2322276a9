"""Turn spec text into a RingSpec, or a SpecError that lists every problem found."""

from __future__ import annotations

import difflib
import ipaddress
import re
import types
import typing
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from multidc_core.problems import Problem, SpecError, show
from multidc_core.spec import RingSpec
from multidc_core.validate import LABEL_FIX, validate

DOCUMENT = "<document>"
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys: PyYAML keeps the last one silently, hiding a typo."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found the key {show(key)} twice",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_spec(text: str) -> RingSpec:
    """Parse and validate spec text; raise SpecError naming every problem and its fix."""
    data = _parse_yaml(text)
    try:
        spec = RingSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError([_problem(err) for err in exc.errors()]) from None
    problems = validate(spec)
    if problems:
        raise SpecError(problems)
    return spec


def _parse_yaml(text: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = ": ".join(part for part in (exc.context, exc.problem) if part)
        raise SpecError(
            [Problem(DOCUMENT, f"not valid YAML{where}: {what}", "correct the YAML syntax there")]
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(DOCUMENT, f"not valid YAML: {exc}", "correct the YAML syntax")]) from None
    if data is None:
        raise SpecError(
            [Problem(DOCUMENT, "the spec is empty", "write a ring spec: name, datacenters (see examples/)")]
        )
    if not isinstance(data, dict):
        raise SpecError(
            [
                Problem(
                    DOCUMENT,
                    f"the spec must be a mapping of fields, got a {type(data).__name__} at line 1",
                    "start with 'name: <ring>' and 'datacenters:' at the top level (see examples/)",
                )
            ]
        )
    return data


def path_of(loc: tuple[int | str, ...]) -> str:
    """('datacenters', 0, 'azure', 'vnet_cidr') -> 'datacenters[0].azure.vnet_cidr'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{show(part)}]"
    return out or DOCUMENT


def _unwrap(tp: Any) -> Any:
    """The one interesting type inside Optional[...] / Annotated[...]."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            arms = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(arms) != 1:
                return tp
            tp = arms[0]
        else:
            return tp


def _walk(loc: tuple[int | str, ...]) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model holding the last element of loc, and that element's field (None if unknown)."""
    tp: Any = RingSpec
    owner: type[BaseModel] | None = None
    field: FieldInfo | None = None
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            owner, field = tp, tp.model_fields.get(str(part))
            if field is None:
                return owner, None
            tp = field.annotation
        elif typing.get_origin(tp) in (list, dict):
            tp = typing.get_args(tp)[-1]
        else:
            return owner, field
    return owner, field


_FIXES = {
    "ip_v4_address": "write one IPv4 address, e.g. 10.1.0.10",
    "int_parsing": "write a whole number",
    "int_type": "write a whole number",
    "int_from_float": "write a whole number",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "list_type": "write a YAML list ('- item' lines, or [a, b])",
    "model_type": "write it as indented 'key: value' lines",
    "dict_type": "write it as indented 'key: value' lines",
    "too_short": "add at least one entry",
}


def _problem(err: ErrorDetails) -> Problem:
    loc = tuple(err["loc"])
    kind, value = err["type"], err.get("input")
    owner, field = _walk(loc)
    name = str(loc[-1]) if loc else DOCUMENT
    about = f" ({field.description.rstrip('.')})" if field is not None and field.description else ""
    got = f", got {show(value)}"
    if kind == "extra_forbidden":
        return _unknown_field(loc, owner)
    if kind == "missing":
        return Problem(path_of(loc), "missing required field", f"add {name!r}{about}")
    if kind == "string_type":
        if isinstance(value, int | float) and not isinstance(value, bool):
            fix = f'quote it ("{value}"): YAML reads it as a number'
        else:
            fix = f"write a string{about}"
        return Problem(path_of(loc), f"expected a string{got}", fix)
    if kind in ("enum", "literal_error"):
        expected = (err.get("ctx") or {}).get("expected", "")
        return Problem(path_of(loc), f"{show(value)} is not allowed", f"use one of {expected}")
    if kind == "ip_v4_address":
        return Problem(path_of(loc), f"{show(value)} is not an IPv4 address", _FIXES[kind])
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return Problem(path_of(loc), f"expected a whole number{got}", _FIXES[kind])
    if kind == "ip_v4_network":
        return Problem(path_of(loc), f"{show(value)} is not an IPv4 network in CIDR form", _cidr_fix(value))
    if kind == "value_error":
        msg = err["msg"].removeprefix("Value error, ")
        fix = LABEL_FIX.format(n=40) if "DNS-1123" in msg else f"change the value{about}"
        return Problem(path_of(loc), f"{show(value)} {msg}", fix)
    if kind == "too_short":
        return Problem(path_of(loc), "needs at least one entry", _FIXES[kind])
    if kind in ("model_type", "dict_type", "list_type"):
        kind_name = "a list" if kind == "list_type" else "a mapping of fields"
        return Problem(path_of(loc), f"expected {kind_name}{got}", _FIXES[kind])
    fix = _FIXES.get(kind, f"change the value{about}")
    return Problem(path_of(loc), f"{err['msg']}{got}", fix)


def _unknown_field(loc: tuple[int | str, ...], owner: type[BaseModel] | None) -> Problem:
    key = str(loc[-1])
    known = sorted(owner.model_fields) if owner is not None else []
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        fix = f"did you mean {close[0]!r}? (unknown fields are refused so that typos are not ignored)"
    else:
        fix = "remove it; the fields known here are " + ", ".join(known)
    return Problem(path_of(loc), f"unknown field {show(key)}", fix)


def _cidr_fix(value: object) -> str:
    try:
        network = ipaddress.IPv4Network(str(value), strict=False)
    except ValueError:
        return "write an IPv4 network as address/prefix, e.g. 10.1.0.0/16"
    if str(network) != str(value):
        return f"the host bits must be zero: did you mean {network}?"
    return "write an IPv4 network as address/prefix, e.g. 10.1.0.0/16"
