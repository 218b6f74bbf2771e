"""JSON Schemas for the json_schema scorer: read safely, checked whole at load time, validated offline in linear time.

Load time refuses what would fail or hang later: a `$ref` outside the schema (http:, file:, another file: nothing
is ever fetched), a `#/...` ref to nothing, an unknown `$schema` draft, a `pattern` RE2 cannot run, runaway
nesting. Validation uses RE2 for `pattern`, `patternProperties` and `additionalProperties`, so a pattern such as
`^(a+)+$` cannot make one prediction take minutes (JSON Schema patterns are ECMA-262: `\\d` and `\\w` are ASCII, as
in RE2).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import re2
import referencing
import referencing.exceptions
from jsonschema import validators
from jsonschema.exceptions import ValidationError

from advisor import files
from advisor.errors import UserError, redact, shown

MAX_SCHEMA_DEPTH = 64
DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})  # their values are data, not subschemas
NAMED_SUBSCHEMAS = frozenset({"properties", "patternProperties", "definitions", "$defs", "dependentSchemas",
                              "dependencies"})  # {name: subschema}: the names are not keywords
REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
LOCAL_REF_HINT = "only references inside the schema ('#/$defs/name') are supported; copy the definition into $defs"
_DRAFTS = (jsonschema.Draft3Validator, jsonschema.Draft4Validator, jsonschema.Draft6Validator,
           jsonschema.Draft7Validator, jsonschema.Draft201909Validator, jsonschema.Draft202012Validator)


# ---- reading a schema file ----

class _Refused(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"duplicate key {shown(key, 40)}")
        out[key] = value
    return out


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Refused(f"the number {shown(text, 30)} is too large")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > files.MAX_NUMBER_DIGITS:
        raise _Refused(f"a number with {len(text.lstrip('-'))} digits")
    return int(text)


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")


def load_schema_file(path: Path) -> Any:
    """The schema in a .json file (strict JSON) or any other file (YAML); problems name the file and the line."""
    text = files.read_text(path, files.MAX_CONFIG_BYTES)
    if path.suffix.lower() != ".json":
        return files.load_yaml(path, files.MAX_CONFIG_BYTES, text=text)
    hint = "check the file with a JSON linter"
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant,
                          parse_float=_finite, parse_int=_bounded_int)
    except json.JSONDecodeError as err:
        raise UserError(path, f"line {err.lineno}", f"invalid JSON: {err.msg}", hint) from None
    except _Refused as err:
        raise UserError(path, None, f"invalid JSON Schema file: {err}", "NaN, Infinity, huge numbers and repeated "
                        "keys are not JSON; write each key once and numbers as plain decimals") from None
    except RecursionError:
        raise UserError(path, None, "nested too deeply to read", f"schemas are at most {MAX_SCHEMA_DEPTH} levels "
                        "deep; check for runaway brackets") from None


# ---- load-time checks ----

def _field(parts: tuple) -> str:
    """('properties', 'a', '$ref') -> 'properties.a.$ref', bounded for huge keys."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)[:40]
    return out if len(out) <= 120 else "..." + out[-117:]


def _depth_ok(schema: Any) -> bool:
    stack = [(schema, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_SCHEMA_DEPTH:
            return False
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def _pointer_target(root: Any, fragment: str) -> bool:
    """True when the JSON pointer `fragment` ('' or '/a/b~1c/0') names something inside `root`."""
    if fragment == "":
        return True
    if not fragment.startswith("/"):
        return False
    node = root
    for token in fragment[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and (token == "0" or not token.startswith("0")) \
                and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


class _Checker:
    """One walk over the schema: refs, nested $schema, regexes; errors name `file` and the field."""

    def __init__(self, file: Path | None, where: str | None, id_key: str):
        self.file, self.where, self.id_key = file, where, id_key
        self.refs: list[tuple[tuple, str, Any]] = []  # (path, ref, the resource root it is relative to)
        self.anchors: set[str] = set()
        self.has_pattern_properties = self.has_unevaluated = False

    def fail(self, parts: tuple, message: str, hint: str) -> UserError:
        where = ".".join(p for p in (self.where, _field(parts)) if p) or None
        return UserError(self.file, where, message, hint)

    def walk(self, node: Any, parts: tuple, resource: Any) -> None:
        if not isinstance(node, dict):
            if isinstance(node, list):
                for i, item in enumerate(node):
                    self.walk(item, (*parts, i), resource)
            return
        ident = node.get(self.id_key)
        if parts and isinstance(ident, str) and not ident.startswith("#"):
            resource = node  # a nested $id starts a new base: its '#/...' refs are relative to it
        for key, value in node.items():
            here = (*parts, key)
            if key in DATA_KEYWORDS:
                continue
            if key in REF_KEYWORDS and isinstance(value, str):
                self.refs.append((here, value, resource))
            elif key in ("$anchor", "$dynamicAnchor", "$recursiveAnchor") and isinstance(value, str):
                self.anchors.add(value)
            elif key == self.id_key and isinstance(value, str) and value.startswith("#"):
                self.anchors.add(value[1:])
            elif key == "$schema" and parts:
                raise self.fail(here, "$schema is only allowed at the top of the schema",
                                "name the draft once, at the top")
            elif key == "pattern" and isinstance(value, str):
                self.check_regex(here, value)
            elif key in NAMED_SUBSCHEMAS and isinstance(value, dict):
                if key == "patternProperties":
                    self.has_pattern_properties = True
                for name, sub in value.items():
                    if key == "patternProperties":
                        self.check_regex((*here, name), name)
                    self.walk(sub, (*here, name), resource)
                continue
            if key == "unevaluatedProperties":
                self.has_unevaluated = True
            if isinstance(value, (dict, list)):
                self.walk(value, here, resource)

    def check_regex(self, parts: tuple, pattern: str) -> None:
        from advisor.scoring.patterns import MAX_PATTERN_CHARS

        if len(pattern) > MAX_PATTERN_CHARS:
            raise self.fail(parts, f"a pattern of {len(pattern):,} characters", f"the limit is {MAX_PATTERN_CHARS:,}")
        try:
            _regex(pattern)
        except re2.error:
            raise self.fail(parts, f"pattern {shown(pattern)} cannot be matched in linear time (RE2)",
                            "use RE2 syntax: no backreferences or lookahead/lookbehind") from None

    def check_refs(self) -> None:
        for parts, ref, resource in self.refs:
            if not ref.startswith("#"):
                raise self.fail(parts, f"{parts[-1]} {shown(ref)} points outside the schema; nothing is fetched",
                                LOCAL_REF_HINT)
            fragment = unquote(ref[1:])
            if fragment.startswith("/") or fragment == "":
                if not _pointer_target(resource, fragment):
                    raise self.fail(parts, f"{parts[-1]} {shown(ref)} points to nothing in the schema",
                                    "check the spelling against the keys under $defs / definitions")
            elif fragment not in self.anchors:
                raise self.fail(parts, f"{parts[-1]} {shown(ref)} names no $anchor in the schema",
                                "use '#/$defs/name' or add the $anchor")


def _regex(pattern: str):  # type: ignore[no-untyped-def]
    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options)  # re2 keeps an LRU cache of compiled patterns


def _matches(pattern: str, text: str) -> bool:
    return _regex(pattern).search(text.encode("utf-8", "surrogatepass")) is not None


# ---- validation with RE2 for the keywords that run regexes ----

def _pattern(validator, patrn, instance, schema):  # type: ignore[no-untyped-def]
    if validator.is_type(instance, "string") and not _matches(patrn, instance):
        yield ValidationError(f"{shown(instance)} does not match {shown(patrn)}")


def _pattern_properties(validator, pattern_properties, instance, schema):  # type: ignore[no-untyped-def]
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if _matches(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator, additional, instance, schema):  # type: ignore[no-untyped-def]
    if not validator.is_type(instance, "object"):
        return
    properties, patterns = schema.get("properties", {}), list(schema.get("patternProperties", {}))
    extras = [k for k in instance if k not in properties and not any(_matches(p, k) for p in patterns)]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        yield ValidationError(f"additional properties are not allowed ({shown(extras)})")


_RE2_KEYWORDS = {"pattern": _pattern, "patternProperties": _pattern_properties,
                 "additionalProperties": _additional_properties}


def _draft(schema: Any, file: Path | None, where: str | None) -> type:
    if not isinstance(schema, dict) or "$schema" not in schema:
        return jsonschema.Draft202012Validator
    known = [cls.ID_OF(cls.META_SCHEMA) for cls in _DRAFTS]
    draft = schema["$schema"]
    cls = validators.validator_for(schema, default=None) if isinstance(draft, str) else None
    if cls is None:
        raise UserError(file, ".".join(p for p in (where, "$schema") if p),
                        f"unknown JSON Schema draft {shown(draft)}",
                        f"use one of {', '.join(known)}, or leave $schema out for 2020-12")
    return cls


def checked_validator(schema: Any, file: Path | None = None, where: str | None = None) -> Any:
    """A validator for `schema` after every load-time check; errors name `file` (a schema file) or `where`."""
    if not isinstance(schema, (dict, bool)):
        raise UserError(file, where, f"a JSON Schema must be a mapping, got {type(schema).__name__}",
                        "write the schema as {type: object, properties: ...}")
    if not _depth_ok(schema):
        raise UserError(file, where, f"the schema is nested more than {MAX_SCHEMA_DEPTH} levels deep",
                        "check for runaway brackets")
    draft = _draft(schema, file, where)
    checker = _Checker(file, where, "id" if draft in _DRAFTS[:2] else "$id")
    checker.walk(schema, (), schema)
    checker.check_refs()
    if checker.has_pattern_properties and checker.has_unevaluated:
        raise UserError(file, where, "unevaluatedProperties together with patternProperties is not supported",
                        "list the properties, or use additionalProperties")
    try:
        draft.check_schema(schema)
    except jsonschema.SchemaError as err:
        parts = tuple(err.absolute_path)
        located = ".".join(p for p in (where, _field(parts)) if p) or None
        message = " ".join(redact(err.message).split())
        raise UserError(file, located, f"invalid JSON Schema: {message[:100] + '...' if len(message) > 100 else message}",
                        "see https://json-schema.org/understanding-json-schema/") from None
    # $schema decides the draft; dropped so that a `$ref: '#'` back to the root keeps these RE2 keywords
    body = {k: v for k, v in schema.items() if k != "$schema"} if isinstance(schema, dict) else schema
    cls = validators.extend(draft, {k: fn for k, fn in _RE2_KEYWORDS.items() if k in draft.VALIDATORS})
    validator = cls(body, registry=referencing.Registry())  # an empty registry never retrieves anything
    for sample in ({}, [], "", 0, None, True):
        try:
            validator.is_valid(sample)
        except RecursionError:
            raise UserError(file, where, "the schema refers to itself without end ($ref loop)",
                            "a $ref chain must reach a schema with its own keywords") from None
        except referencing.exceptions.Unresolvable as err:
            raise UserError(file, where, f"a $ref cannot be resolved: {shown(str(err), 80)}", LOCAL_REF_HINT) from None
    return validator


def is_valid(validator: Any, value: Any) -> bool:
    """True when `value` validates; a prediction nested too deeply to check is not valid."""
    try:
        return bool(validator.is_valid(value))
    except RecursionError:
        return False
