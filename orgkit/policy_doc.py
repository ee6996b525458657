"""Semantic comparison of IAM-style policy documents."""

from __future__ import annotations

import json
from typing import Any

# Keys whose values are unordered sets in IAM's grammar; a lone string equals a one-item list.
_SET_KEYS = {"Action", "NotAction", "Resource", "NotResource"}


def normalize(document: Any) -> Any:
    """A canonical form: key order, whitespace, action/resource order and list-vs-string
    don't count; statement order doesn't either."""
    if not isinstance(document, dict):
        return document
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key == "Statement":
            statements = value if isinstance(value, list) else [value]
            normalized = [_statement(s) for s in statements]
            out[key] = sorted(normalized, key=lambda s: json.dumps(s, sort_keys=True))
        else:
            out[key] = value
    return out


def _statement(statement: Any) -> Any:
    if not isinstance(statement, dict):
        return statement
    out: dict[str, Any] = {}
    for key, value in statement.items():
        if key in _SET_KEYS:
            out[key] = _as_set(value)
        elif key == "Condition" and isinstance(value, dict):
            out[key] = {
                operator: {k: _as_set(v) for k, v in (block or {}).items()}
                if isinstance(block, dict)
                else block
                for operator, block in value.items()
            }
        else:
            out[key] = value
    return out


def _as_set(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return sorted(set(value))
    return value


def equivalent(a: Any, b: Any) -> bool:
    """True when two policy documents mean the same."""
    return json.dumps(normalize(a), sort_keys=True) == json.dumps(normalize(b), sort_keys=True)
