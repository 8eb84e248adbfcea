"""Parameters of detection methods: frozen dataclasses validated on construction.

Each method's parameters are one frozen dataclass whose defaults equal those of R's
``surveillance`` package (the "control list" of the corresponding R function). Fields are
declared with :func:`param`, which records the allowed range or choices and a help text;
:class:`Parameters` checks every field when an instance is created, and can be built from
the ``NAME=VALUE`` strings of the command line with :meth:`Parameters.from_strings`.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tocsin.detect.errors import ParameterError

_MISSING = dataclasses.MISSING


def param(
    default: Any,
    *,
    help: str,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: tuple[Any, ...] | None = None,
) -> Any:
    """Declare a parameter field with its default, allowed range or choices and help."""
    metadata = {"help": help, "ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices}
    if isinstance(default, list | dict | set):
        raise TypeError("mutable defaults are not allowed; use a tuple")
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class ParameterSpec:
    """A description of one parameter, for listings and error messages."""

    name: str
    type_name: str
    default: Any
    help: str
    allowed: str


def _bounds_text(meta: Mapping[str, Any]) -> str:
    if meta.get("choices") is not None:
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    parts = []
    if meta.get("gt") is not None:
        parts.append(f"> {meta['gt']}")
    if meta.get("ge") is not None:
        parts.append(f">= {meta['ge']}")
    if meta.get("lt") is not None:
        parts.append(f"< {meta['lt']}")
    if meta.get("le") is not None:
        parts.append(f"<= {meta['le']}")
    return " and ".join(parts) if parts else "any"


def _base_types(annotation: Any) -> tuple[tuple[type, ...], bool]:
    """The concrete types a field admits, and whether it admits None."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        optional = type(None) in args
        concrete = tuple(a for a in args if a is not type(None))
        return tuple(typing.get_origin(a) or a for a in concrete), optional
    if origin is typing.Literal:
        return tuple({type(a) for a in typing.get_args(annotation)}), False
    return ((origin or annotation),), False


@dataclass(frozen=True)
class Parameters:
    """Base class of every method's parameters; subclasses are frozen dataclasses."""

    method_name: ClassVar[str] = "method"

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            allowed, optional = _base_types(hints[f.name])
            if value is None:
                if not optional:
                    raise ParameterError(self._msg(f, value, "a value (None is not allowed)"))
                continue
            # Accept an int where a float is expected; never a bool where a number is.
            if float in allowed and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
                value = float(value)
            if isinstance(value, bool) and bool not in allowed:
                raise ParameterError(self._msg(f, value, _type_text(allowed)))
            if tuple in allowed and isinstance(value, list):
                value = tuple(value)
                object.__setattr__(self, f.name, value)
            if not isinstance(value, allowed):
                raise ParameterError(self._msg(f, value, _type_text(allowed)))
            if isinstance(value, float) and math.isnan(value):
                raise ParameterError(self._msg(f, value, "a number, not NaN"))
            meta = f.metadata
            choices = meta.get("choices")
            if choices is not None and value not in choices:
                raise ParameterError(self._msg(f, value, _bounds_text(meta)))
            if isinstance(value, int | float) and not isinstance(value, bool):
                for key, ok in (
                    ("ge", lambda v, b: v >= b),
                    ("gt", lambda v, b: v > b),
                    ("le", lambda v, b: v <= b),
                    ("lt", lambda v, b: v < b),
                ):
                    bound = meta.get(key)
                    if bound is not None and not ok(value, bound):
                        raise ParameterError(self._msg(f, value, _bounds_text(meta)))
        self.validate()

    def validate(self) -> None:
        """Checks that involve several parameters; subclasses override it."""

    def _msg(self, f: dataclasses.Field, value: Any, expected: str) -> str:
        return (
            f"parameter {f.name!r} of method {self.method_name!r} is {value!r}; expected {expected}"
        )

    @classmethod
    def spec(cls) -> list[ParameterSpec]:
        """Every parameter with its type, default, allowed values and help."""
        hints = typing.get_type_hints(cls)
        out = []
        for f in dataclasses.fields(cls):
            allowed, optional = _base_types(hints[f.name])
            type_name = _type_text(allowed) + (" or none" if optional else "")
            out.append(
                ParameterSpec(
                    f.name,
                    type_name,
                    f.default,
                    f.metadata.get("help", ""),
                    _bounds_text(f.metadata),
                )
            )
        return out

    @classmethod
    def from_strings(cls, values: Mapping[str, str]) -> Parameters:
        """Build from ``NAME=VALUE`` strings (command line), converting each to its type."""
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for name, text in values.items():
            key = name.replace("-", "_")
            if key not in fields:
                raise ParameterError(
                    f"method {cls.method_name!r} has no parameter {name!r}; its parameters are: "
                    + ", ".join(fields)
                )
            allowed, optional = _base_types(hints[key])
            kwargs[key] = _parse(cls.method_name, key, text, allowed, optional)
        return cls(**kwargs)

    def as_dict(self) -> dict[str, Any]:
        """The parameters as plain values (for storage as JSON)."""
        return {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()
        }


def _type_text(allowed: tuple[type, ...]) -> str:
    names = {
        bool: "true/false",
        int: "an integer",
        float: "a number",
        str: "a text",
        tuple: "a comma-separated list",
    }
    return " or ".join(names.get(t, t.__name__) for t in allowed)


def _parse(method: str, name: str, text: str, allowed: tuple[type, ...], optional: bool) -> Any:
    raw = text.strip()
    if optional and raw.lower() in ("none", "null", ""):
        return None
    for t in allowed:
        try:
            if t is bool:
                low = raw.lower()
                if low in ("true", "yes", "1", "on"):
                    return True
                if low in ("false", "no", "0", "off"):
                    return False
                continue
            if t is int:
                return int(raw)
            if t is float:
                return float(raw)
            if t is tuple:
                return tuple(float(x) for x in raw.split(",") if x.strip())
            if t is str:
                return raw
        except ValueError:
            continue
    raise ParameterError(
        f"parameter {name!r} of method {method!r} is {text!r}; expected {_type_text(allowed)}"
    )
