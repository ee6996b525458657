"""Read every kind's part of the snapshot at once where the kinds allow it.

Each kind declares which fields of the snapshot its read uses (``needs``) and which it sets
(``provides``). A kind's read starts as soon as every kind before it (in registry order) that
provides one of its needs has finished; kinds that need nothing of each other read at the same
time, each against its own APIs' rates. The snapshot is the one the kinds read one after
another in registry order would give: a kind sees its inputs as the sequential read would, and
only the fields it declares are taken from what it returns.

The first read to fail fails the whole read, once the reads already started have ended (no new
one starts): no account is ever left out of a plan because its read failed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol, TypeVar

from orgkit.live.model import LiveOrg

# The organization itself: read before any kind (orgkit.live.reader.read_organization).
ORGANIZATION_FIELDS = frozenset(
    {"organization_id", "management_account_id", "feature_set", "root_id", "policy_types"}
)
RESOURCES = "resources"
C = TypeVar("C", contravariant=True)


class Readable(Protocol[C]):
    """What the scheduler needs of a kind."""

    @property
    def kind(self) -> str:
        """The kind's name."""

    @property
    def needs(self) -> frozenset[str] | None:
        """The snapshot's fields its read uses (None: all that kinds before it read)."""

    @property
    def provides(self) -> frozenset[str]:
        """The snapshot's fields its read sets."""

    def read(self, ctx: C, live: LiveOrg) -> LiveOrg: ...


class UndeclaredField(RuntimeError):
    """A kind's read changed a field it does not declare in ``provides`` (a bug in the kind)."""


def dependencies(kinds: Sequence[Readable[Any]]) -> dict[str, set[str]]:
    """For each kind, the kinds before it whose reads it waits for."""
    found: dict[str, set[str]] = {}
    for index, kind in enumerate(kinds):
        before = kinds[:index]
        if kind.needs is None:
            found[kind.kind] = {k.kind for k in before}
        else:
            found[kind.kind] = {k.kind for k in before if k.provides & kind.needs}
    return found


def merge(into: LiveOrg, given: LiveOrg, result: LiveOrg, kind: Readable[Any]) -> LiveOrg:
    """``into`` with the fields ``kind`` provides taken from ``result`` (its read of
    ``given``); ``resources`` merged by key. Any other field it changed is a bug."""
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(LiveOrg):
        name = field.name
        before, after = getattr(given, name), getattr(result, name)
        if after is before:
            continue
        if name not in kind.provides:
            raise UndeclaredField(f"kind {kind.kind!r} set {name!r} but does not provide it")
        if name == RESOURCES:
            added = {k: v for k, v in after.items() if k not in before or before[k] is not v}
            changes[name] = {**into.resources, **added}
        else:
            changes[name] = after
    return dataclasses.replace(into, **changes) if changes else into


def read_kinds(
    kinds: Sequence[Readable[C]],
    ctx: C,
    live: LiveOrg,
    started: Callable[[Readable[C], LiveOrg], None] = lambda kind, snapshot: None,
) -> LiveOrg:
    """Every kind's read of ``live`` (the organization alone), concurrent where ``needs`` and
    ``provides`` allow; ``started`` is told when each read begins, with the snapshot so far."""
    waits_for = dependencies(kinds)
    done: set[str] = set()
    snapshot = live
    running: dict[Future[LiveOrg], tuple[Readable[C], LiveOrg]] = {}
    waiting = list(kinds)
    with ThreadPoolExecutor(max(1, len(kinds)), "read") as pool:
        try:
            while waiting or running:
                for kind in [k for k in waiting if waits_for[k.kind] <= done]:
                    waiting.remove(kind)
                    started(kind, snapshot)
                    running[pool.submit(kind.read, ctx, snapshot)] = (kind, snapshot)
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                # In registry order, so that two kinds adding resources merge as they would
                # one after another.
                for future in sorted(finished, key=lambda f: kinds.index(running[f][0])):
                    kind, given = running.pop(future)
                    snapshot = merge(snapshot, given, future.result(), kind)
                    done.add(kind.kind)
        finally:
            for future in running:
                future.cancel()
    return snapshot
