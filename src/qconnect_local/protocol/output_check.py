"""A strict check that a handler's output fits its operation's output shape, for tests.

The serializer sends only the members the model names and leaves every other key out, so a
misspelled key (`knowledgeBaseArnn`) disappears without a trace, and a wrong type surfaces, if
at all, as a client-side parse error far from its cause. `check_output` makes both fail where
they happen, with the path of every problem.

What is checked: every key is a member of its structure (at any depth, in lists and maps too);
every `required` member is there and not None; each value has a Python type the shape type
allows; a union has exactly one member set. None stands for an absent member, as in the
serializer, so it is fine for any member that is not required, and for map values (the
serializer drops them); it is not fine as a list item (that would go out as `null`). Enum
values, lengths, patterns and ranges are not checked: an output is what the service says.

Members bound to a header or the status code are keys of the handler's dict like the others
(the serializer reads them by member name), so they follow the same rules. Document shapes
take any JSON value.

Like the validator, each shape compiles once (cached by name in a `CompiledCache`, which also
handles recursive shapes) into a checker that returns None when the value fits, so a fitting
output costs a few type tests per value and builds no path strings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.model import OperationModel, Shape

from qconnect_local.protocol.compiled import CompiledCache

# (path relative to the value checked, what is wrong). The path starts with its separator
# (".member", "[0]", "['key']") so that a parent only has to put its own part in front.
Problem = tuple[str, str]
Checker = Callable[[Any], list[Problem] | None]  # None: the value fits

_WHOLE_OUTPUT = "<output>"


class OutputMismatch(AssertionError):
    """A handler's output does not fit the model: the message lists each problem with its path."""


def output_errors(operation_model: OperationModel, output: dict[str, Any] | None) -> list[str]:
    """Every way `output` differs from the output shape, as "path: problem" lines; [] when it fits."""
    shape = operation_model.output_shape
    problems: list[Problem] | None
    if shape is None:
        problems = _no_output(operation_model.name, output)
    else:
        # The serializer sends an empty body for None or {}: required members are missing then.
        problems = _checker(shape)({} if output is None else output)
    return [f"{_render(path)}: {message}" for path, message in problems or ()]


def check_output(operation_model: OperationModel, output: dict[str, Any] | None) -> None:
    """Raise OutputMismatch, naming every problem, unless `output` fits the operation's output shape."""
    errors = output_errors(operation_model, output)
    if errors:
        shape = operation_model.output_shape
        target = shape.name if shape is not None else "no output shape"
        noun = "problem" if len(errors) == 1 else "problems"
        raise OutputMismatch(
            f"{operation_model.name} output does not match {target} ({len(errors)} {noun}):\n  "
            + "\n  ".join(errors)
        )


def _render(path: str) -> str:
    return path.removeprefix(".") or _WHOLE_OUTPUT


def _no_output(operation_name: str, output: Any) -> list[Problem]:
    if output is None:
        return []
    if not isinstance(output, dict):
        return [("", f"{operation_name} has no output shape, but the output is a {_type(output)}")]
    return [(f".{key}", f"not a member: {operation_name} has no output shape") for key in output]


def _type(value: Any) -> str:
    return type(value).__name__


def _prefixed(prefix: str, found: list[Problem]) -> list[Problem]:
    return [(prefix + path, message) for path, message in found]


# --- scalars ----------------------------------------------------------------------------------

# Per scalar shape type: the exact Python types that fit without a further thought (checked by
# `type(v) in ...` in the parent's loop, which also keeps bool out of int), the full test for
# everything else (subclasses such as StrEnum or a datetime subclass), and its wording.
_Scalar = tuple[frozenset[type], Callable[[Any], bool], str]


def _not_bool(*types: type) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, types) and not isinstance(value, bool)


_is_int = _not_bool(int)
_is_number = _not_bool(int, float)
_INT: _Scalar = (frozenset({int}), _is_int, "int (not bool)")
_NUMBER: _Scalar = (frozenset({float, int}), _is_number, "int or float (not bool)")
_SCALARS: dict[str, _Scalar] = {
    "string": (frozenset({str}), lambda value: isinstance(value, str), "str"),
    "integer": _INT,
    "long": _INT,
    "float": _NUMBER,
    "double": _NUMBER,
    "boolean": (frozenset({bool}), lambda value: isinstance(value, bool), "bool"),
    # What the serializer can write: it formats datetimes only, and base64-encodes bytes.
    "timestamp": (frozenset({datetime}), lambda value: isinstance(value, datetime), "datetime"),
    "blob": (frozenset({bytes}), lambda value: isinstance(value, bytes | bytearray), "bytes"),
}
_JSON_SCALARS = frozenset({str, int, float, bool})


def _exact(shape: Shape) -> frozenset[type]:
    """The types a parent may accept for `shape` by `type(v) in ...` alone, without calling its checker."""
    if shape.metadata.get("document"):
        return _JSON_SCALARS
    scalar = _SCALARS.get(shape.type_name)
    return scalar[0] if scalar is not None else frozenset()


# --- compiled checkers ------------------------------------------------------------------------

_CHECKERS: CompiledCache[Checker] = CompiledCache()


def _checker(shape: Shape) -> Checker:
    # By shape name, as the validator: type rules live on the target shape, not the reference.
    return _CHECKERS.get(shape.name, lambda: _build(shape))


def _build(shape: Shape) -> Checker:
    kind = shape.type_name
    if shape.metadata.get("document"):
        return _document
    if kind == "structure":
        return _structure(shape)
    if kind == "list":
        return _list(shape)
    if kind == "map":
        return _map(shape)
    scalar = _SCALARS.get(kind)
    if scalar is None:
        raise TypeError(f"no output check for {kind} shape {shape.name}")
    return _scalar(shape, scalar)


def _scalar(shape: Shape, scalar: _Scalar) -> Checker:
    _, accepts, expected = scalar
    wording = f"expected {expected} for {shape.type_name} shape {shape.name}"

    def check(value: Any) -> list[Problem] | None:
        return None if accepts(value) else [("", f"{wording}, got {_type(value)}")]

    return check


def _structure(shape: Shape) -> Checker:
    name = shape.name
    members = {key: (_exact(member), _checker(member)) for key, member in shape.members.items()}
    required = tuple(shape.required_members)
    is_union = bool(shape.metadata.get("union"))
    kind = "union" if is_union else "structure"

    def check(value: Any) -> list[Problem] | None:
        if not isinstance(value, dict):
            return [("", f"expected dict for {kind} {name}, got {_type(value)}")]
        problems: list[Problem] = []
        present = 0
        for key, item in value.items():
            member = members.get(key)
            if member is None:
                problems.append((f".{key}", f"not a member of {name}"))
                continue
            if item is None:
                continue
            present += 1
            if type(item) in member[0]:
                continue
            found = member[1](item)
            if found:
                problems += _prefixed(f".{key}", found)
        for key in required:
            if value.get(key) is None:
                state = "None" if key in value else "missing"
                problems.append((f".{key}", f"required member of {name} is {state}"))
        if is_union and present != 1:
            problems.append(("", _union_problem(name, members, value)))
        return problems or None

    return check


def _union_problem(name: str, members: dict[str, Any], value: dict[str, Any]) -> str:
    chosen = [key for key, item in value.items() if key in members and item is not None]
    listed = f" ({', '.join(chosen)})" if chosen else ""
    return f"union {name} must have exactly one member set, got {len(chosen)}{listed}"


def _list(shape: Shape) -> Checker:
    name = shape.name
    exact, child = _exact(shape.member), _checker(shape.member)

    def check(value: Any) -> list[Problem] | None:
        if not isinstance(value, list | tuple):
            return [("", f"expected list or tuple for list {name}, got {_type(value)}")]
        problems: list[Problem] = []
        for index, item in enumerate(value):
            if type(item) in exact:
                continue
            if item is None:
                problems.append((f"[{index}]", f"None in list {name} (it would be sent as null)"))
                continue
            found = child(item)
            if found:
                problems += _prefixed(f"[{index}]", found)
        return problems or None

    return check


def _map(shape: Shape) -> Checker:
    name = shape.name
    exact, child = _exact(shape.value), _checker(shape.value)

    def check(value: Any) -> list[Problem] | None:
        if not isinstance(value, dict):
            return [("", f"expected dict for map {name}, got {_type(value)}")]
        problems: list[Problem] = []
        for key, item in value.items():
            if not isinstance(key, str):
                problems.append((f"[{key!r}]", f"key of map {name} is a {_type(key)}, not a str"))
            if item is None or type(item) in exact:  # the serializer leaves None values out
                continue
            found = child(item)
            if found:
                problems += _prefixed(f"[{key!r}]", found)
        return problems or None

    return check


def _document(value: Any) -> list[Problem] | None:
    """Any JSON value fits a document shape; what JSON has not (datetimes, bytes, int keys) does not."""
    if value is None or isinstance(value, str | int | float):
        return None
    problems: list[Problem] = []
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _document(item)
            if found:
                problems += _prefixed(f"[{index}]", found)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                problems.append((f"[{key!r}]", f"key in a document is a {_type(key)}, not a str"))
            found = _document(item)
            if found:
                problems += _prefixed(f"[{key!r}]", found)
    else:
        problems.append(("", f"not a JSON value in a document: {_type(value)}"))
    return problems or None
