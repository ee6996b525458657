"""The registry of resource kinds: every module of this package that defines ``KIND``.

Adding a kind is adding a module here (with its config model, tests and docs); the planner,
apply, the views, drift and the reader loop over :data:`REGISTRY` and need no edit.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from pydantic import ValidationError

from orgkit.changes import PLAN_FORMAT_VERSION, Action, Change, Plan, Side, Unmanaged
from orgkit.kinds.base import ResourceKind, missing_parts

NOT_KINDS = {"base"}  # modules of this package that hold shared machinery, not a kind


def discover(package: str, path: list[str]) -> dict[str, ResourceKind]:
    """Every kind declared by a module of ``package`` (found at ``path``), in plan order.

    A module that defines no ``KIND``, two modules with one kind, or a kind that leaves out a
    part (an abstract method) stop the import: an incomplete kind never half-works.
    """
    found: dict[str, ResourceKind] = {}
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if info.name in NOT_KINDS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        kind = getattr(module, "KIND", None)
        if not isinstance(kind, ResourceKind):
            raise ImportError(f"{module.__name__} defines no KIND (a ResourceKind instance)")
        problems = missing_parts(kind)
        if problems:
            raise ImportError(f"{module.__name__}: incomplete kind: {'; '.join(problems)}")
        if kind.kind in found:
            raise ImportError(f"two modules declare the kind {kind.kind!r}")
        found[kind.kind] = kind
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


# Every kind, in plan order (dependencies first).
REGISTRY: dict[str, ResourceKind] = discover(__name__, list(__path__))


def kind_of(name: str) -> ResourceKind:
    """The kind of that name; a KeyError names the kinds there are."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown kind {name!r} (kinds: {', '.join(REGISTRY)})") from None


class PlanFormatError(ValueError):
    """A saved plan that this orgkit cannot read as a plan."""


def change_from_dict(data: dict[str, Any]) -> Change:
    """A change from its JSON form, ``before``/``after`` validated against the kind's models.

    ``destructive`` is not read: the kind decides it.
    """
    if not isinstance(data, dict):
        raise PlanFormatError("a change must be an object")
    try:
        kind = kind_of(str(data["kind"]))
        action = Action(data["action"])
        before_model, after_model = kind.models[action]
    except KeyError as exc:
        raise PlanFormatError(f"{data.get('address', '?')}: {exc.args[0]}") from None
    except ValueError as exc:
        raise PlanFormatError(f"{data.get('address', '?')}: {exc}") from None
    sides: list[Side | None] = []
    for name, model in (("before", before_model), ("after", after_model)):
        value = data.get(name)
        if model is None or value is None:
            if (model is None) != (value is None):
                raise PlanFormatError(
                    f"{data.get('address', '?')}: {name} is "
                    f"{'missing' if value is None else 'not expected'}"
                )
            sides.append(None)
            continue
        try:
            sides.append(model.model_validate(value))
        except ValidationError as exc:
            raise PlanFormatError(
                f"{data.get('address', '?')}: {name}: "
                f"{exc.errors()[0]['msg']} at "
                f"{'.'.join(map(str, exc.errors()[0]['loc']))}"
            ) from None
    change = Change(str(data.get("address", "")), kind.kind, action, sides[0], sides[1])
    return Change(
        change.address,
        change.kind,
        change.action,
        change.before,
        change.after,
        destructive=kind.is_destructive(change),
    )


def plan_from_dict(data: Any) -> Plan:
    """A saved plan (``orgkit plan --out``), checked against the format version and every
    kind's models."""
    if not isinstance(data, dict) or "changes" not in data:
        raise PlanFormatError("no `changes` in it")
    version = data.get("format_version")
    if version != PLAN_FORMAT_VERSION:
        raise PlanFormatError(
            f"plan format version {version!r}; this orgkit reads version {PLAN_FORMAT_VERSION}"
        )
    try:
        return Plan(
            changes=tuple(change_from_dict(c) for c in data["changes"]),
            held_back=tuple(change_from_dict(c) for c in data.get("held_back", [])),
            unmanaged=tuple(
                Unmanaged(u["address"], u["kind"], u["detail"]) for u in data.get("unmanaged", [])
            ),
            warnings=tuple(str(w) for w in data.get("warnings", [])),
            live_fingerprint=data.get("live_fingerprint"),
            config_fingerprint=data.get("config_fingerprint"),
            management_account_id=data.get("management_account_id"),
            flags={str(k): bool(v) for k, v in dict(data.get("flags", {})).items()},
            target=_target(data.get("target")),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise PlanFormatError(f"malformed plan ({type(exc).__name__}: {exc})") from None


def _target(data: Any) -> dict[str, list[str]] | None:
    """A saved plan's ``target``: None, or the three lists of names ``--target`` gave."""
    if data is None:
        return None
    keys = ("accounts", "ous", "projects")
    if (
        not isinstance(data, dict)
        or set(data) != set(keys)
        or not all(isinstance(data[k], list) for k in keys)
        or not all(isinstance(v, str) for k in keys for v in data[k])
    ):
        raise PlanFormatError("target: expected {accounts, ous, projects}: lists of names")
    return {k: list(data[k]) for k in keys}


__all__ = [
    "REGISTRY",
    "PlanFormatError",
    "ResourceKind",
    "change_from_dict",
    "discover",
    "kind_of",
    "plan_from_dict",
]
