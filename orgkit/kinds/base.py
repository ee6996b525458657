"""What every resource kind declares, and the contexts its stages run in.

A kind is one module of :mod:`orgkit.kinds` holding one :class:`ResourceKind` subclass
instance named ``KIND``. It says, in one place: its ``kind`` value, heading, plan order,
destroy rank and flag, how it is read, planned and applied (and how its changes batch), how a
change and a drift finding of it read, and the typed models of its ``before``/``after``.
Planner, apply, views and drift loop over the registry; nothing else names a kind.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from orgkit.changes import Action, Change, Finding, Side, Unmanaged
from orgkit.config.models import ou_path, parent_path
from orgkit.errors import AwsError
from orgkit.names import ROOT_PATH
from orgkit.quotas import Quotas

if TYPE_CHECKING:
    from orgkit.config.loader import Config
    from orgkit.config.models import OrgSpec
    from orgkit.live.model import LiveAccount, LiveOrg, LiveOU
    from orgkit.live.reader import SharedReads, Structure
    from orgkit.live.session import AwsContext
    from orgkit.target import AccountFilter, Target

DestroyFlag = Literal["allow_destroy", "allow_close_accounts"]
BelongsTo = Literal[
    "account", "ou", "attachment", "policy", "stack_set", "policy_type", "organization"
]
FLAG_OPTIONS: dict[str, str] = {
    "allow_destroy": "--allow-destroy",
    "allow_close_accounts": "--allow-close-accounts",
}


@dataclass(frozen=True)
class PlanOptions:
    """What the user allowed: destruction of OUs, policies and attachments; account closure."""

    allow_destroy: bool = False
    allow_close_accounts: bool = False

    def allows(self, flag: str) -> bool:
        """Whether the flag a destructive change needs was given."""
        return bool(getattr(self, flag)) if flag in FLAG_OPTIONS else False

    def to_flags(self) -> dict[str, bool]:
        """The plan's ``flags`` object."""
        return {
            "allow_destroy": self.allow_destroy,
            "allow_close_accounts": self.allow_close_accounts,
        }


# -- read ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReadContext:
    """What a kind's reader gets: credentials and the loaded config (to read only what it
    declares), and the reads kinds share (made once a run). ``with_tags``: whether the
    structure read also reads the tags of the accounts whose tags org.yaml declares."""

    aws: AwsContext
    config: Config
    with_tags: bool = True
    shared: SharedReads = field(default_factory=lambda: _shared_reads(), compare=False)
    # ``--target``: the reads made per account are made for the targeted accounts only.
    target: Target = field(default_factory=lambda: _whole())

    @cached_property
    def wants(self) -> AccountFilter:
        """Whether an account is in the target (everything without ``--target``)."""
        return self.target.account_filter(self.config.spec)

    def wants_live(self, account: LiveAccount, live_ou: str | None) -> bool:
        """Whether the reads made per account should read this live account."""
        return self.wants(
            email=account.email, account_id=account.id, name=account.name, live_ou=live_ou
        )

    def structure(self, live: LiveOrg) -> Structure:
        """The OU tree and every parent's accounts (no tags), read once per run for every kind
        that asks (pipelined: :func:`orgkit.live.reader.read_structure`). The tags org.yaml
        declares are read as their accounts are listed (:meth:`account_tags`)."""
        from botocore.exceptions import BotoCoreError, ClientError

        from orgkit.live.reader import READ_HINT, read_structure, tags_of
        from orgkit.live.session import aws_error

        org = self.aws.client("organizations")
        wanted = {a.email.lower() for a in self.config.spec.accounts if a.tags}

        def read_tags(accounts: list[LiveAccount], parent: str) -> None:
            for account in accounts:
                if (
                    self.with_tags
                    and account.email.lower() in wanted
                    and self.wants_live(account, parent)
                ):
                    self.shared.submit("tags", account.id, partial(tags_of, org, account.id))

        def read() -> Structure:
            try:
                return read_structure(org, live.root_id, on_accounts=read_tags)
            except (ClientError, BotoCoreError) as exc:
                raise aws_error("reading the OU tree and accounts", exc, READ_HINT) from exc

        return self.shared.once("structure", read)

    def targeted_accounts(self, live: LiveOrg) -> list[LiveAccount]:
        """The accounts of the structure read that are in the target (every one without
        ``--target``), for the reads made per account."""
        structure = self.structure(live)
        if self.target.everything:
            return list(structure.accounts)
        path_of = {ou.id: ou.path for ou in structure.ous} | {live.root_id: ROOT_PATH}
        return [a for a in structure.accounts if self.wants_live(a, path_of.get(a.parent_id))]

    def targeted_ids(self, live: LiveOrg) -> frozenset[str] | None:
        """The ids of :meth:`targeted_accounts`; None without ``--target`` (every account, and
        no wait for the structure read)."""
        if self.target.everything:
            return None
        return frozenset(a.id for a in self.targeted_accounts(live))

    def account_tags(self, live: LiveOrg) -> dict[str, tuple[tuple[str, str], ...]]:
        """Tags by account id of the accounts whose tags org.yaml declares (one call each,
        started as the structure read lists them)."""
        self.structure(live)
        return self.shared.results("tags")


def _whole() -> Target:
    from orgkit.target import Target

    return Target()


def _shared_reads() -> SharedReads:
    from orgkit.live.reader import SharedReads

    return SharedReads()


# -- plan -----------------------------------------------------------------------------------
@dataclass
class PlanPart:
    """What one kind's planner found."""

    changes: list[Change] = field(default_factory=list)
    unmanaged: list[Unmanaged] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class PlanContext:
    """The desired and live states a kind plans from, plus what kinds share: live OU paths as
    they will read once the planned OU renames are done."""

    def __init__(self, config: Config, live: LiveOrg, options: PlanOptions) -> None:
        self.config = config
        self.spec: OrgSpec = config.spec
        self.live = live
        self.options = options

    @cached_property
    def renamed_ous(self) -> dict[str, LiveOU]:
        """Declared OU path -> the live OU that a ``renamed_from`` renames to it."""
        renamed: dict[str, LiveOU] = {}
        renames: dict[str, str] = {}
        for path, ou, _ in self.spec.walk_ous():
            if ou.state == "absent":
                continue
            current = {_renamed(o.path, renames): o for o in self.live.ous}
            if path in current or not ou.renamed_from:
                continue
            old_path = ou_path(parent_path(path), ou.renamed_from)
            if old_path in current:
                renames[current[old_path].path] = path
                renamed[path] = current[old_path]
        return renamed

    @cached_property
    def _renames(self) -> dict[str, str]:
        return {ou.path: path for path, ou in self.renamed_ous.items()}

    def renamed(self, path: str) -> str:
        """A live path as it will read after the planned renames."""
        return _renamed(path, self._renames)

    def account_ou(self, account: LiveAccount) -> str:
        """The path of a live account's parent, after the planned renames."""
        return self.renamed(self.live.path_by_id.get(account.parent_id, account.parent_id))

    def target_name(self, target_id: str) -> str:
        """A policy target as orgkit names it (path or email), after the planned renames."""
        return self.renamed(self.live.target_name(target_id))


def _renamed(path: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        if path == old or path.startswith(old + "/"):
            return new + path[len(old) :]
    return path


# -- apply ----------------------------------------------------------------------------------
class Reporter(Protocol):
    """Where apply tells what it is doing (the CLI shows it; tests record it)."""

    def change_started(self, change: Change) -> None: ...

    def change_done(self, change: Change, detail: str) -> None: ...

    def progress(self, change: Change, message: str) -> None: ...


@dataclass(frozen=True)
class Poll:
    """How patiently to wait for something AWS does asynchronously: exponential backoff from
    ``first_delay`` up to ``max_delay`` between looks, giving up after ``timeout`` seconds."""

    first_delay: float = 2.0
    max_delay: float = 30.0
    timeout: float = 30 * 60.0

    def delays(self, clock: Callable[[], float] = time.monotonic) -> Iterator[float]:
        """The waits between looks; ends when the timeout has passed."""
        deadline = clock() + self.timeout
        delay = self.first_delay
        while clock() < deadline:
            yield delay
            delay = min(delay * 2, self.max_delay)


class Ids:
    """Resolves orgkit's names (paths, emails, policy names) to AWS ids as apply goes."""

    def __init__(self, live: LiveOrg) -> None:
        self.root_id = live.root_id
        self.ous = {ou.path: ou.id for ou in live.ous}
        self.accounts = {a.email.lower(): a.id for a in live.accounts}
        # (AWS policy type, name) -> id: policies are created and attached by name and type.
        self.policies = {(p.type, p.name): p.id for p in live.policies if not p.aws_managed}

    def ou(self, path: str) -> str:
        """The id of the root or of an OU by path."""
        if path == ROOT_PATH:
            return self.root_id
        try:
            return self.ous[path]
        except KeyError:
            raise AwsError(f"OU {path!r} does not exist") from None

    def target(self, name: str) -> str:
        """The id of a policy target: an OU path or an account email."""
        if name.startswith("/"):
            return self.ou(name)
        try:
            return self.accounts[name.lower()]
        except KeyError:
            raise AwsError(f"account {name!r} does not exist") from None

    def rename(self, old: str, new: str) -> None:
        """Record an OU rename (its children's paths change with it)."""
        self.ous = {_renamed(path, {old: new}): i for path, i in self.ous.items()}

    def account(self, email: str | None, account_id: str | None) -> tuple[str, bool]:
        """The account a change is for, and whether this apply just created it."""
        if account_id:
            return account_id, False
        if email is None:
            raise AwsError("a change names neither an account id nor an email")
        return self.target(email), True


# Account creation: one shared ListCreateAccountStatus a second while any request is in flight
# (1 of the 5 a second AWS allows), so an account is seen within a second of its creation.
ACCOUNT_POLL = Poll(first_delay=1.0, max_delay=1.0, timeout=30 * 60.0)
STACK_POLL = Poll(first_delay=2.0, max_delay=30.0, timeout=2 * 3600.0)


@dataclass
class ApplyContext:
    """What a kind's apply handlers get."""

    aws: AwsContext
    ids: Ids
    reporter: Reporter
    management_id: str
    home_region: str = "us-east-1"
    in_flight: int = 5
    account_poll: Poll = ACCOUNT_POLL
    stack_poll: Poll = STACK_POLL
    quotas: Quotas = field(default_factory=Quotas)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


class ApplyFailure(Exception):
    """A batch that failed part way: what it did, and why it stopped."""

    def __init__(self, done: list[tuple[Change, str]], error: AwsError) -> None:
        super().__init__(error.message)
        self.done = done
        self.error = error


BatchHandler = Callable[[ApplyContext, list[Change]], list[tuple[Change, str]]]
OneHandler = Callable[[ApplyContext, Change], str]


def one_at_a_time(handler: OneHandler) -> BatchHandler:
    """A batch handler from a handler of single changes."""

    def run(ctx: ApplyContext, changes: list[Change]) -> list[tuple[Change, str]]:
        return [(change, handler(ctx, change)) for change in changes]

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


# -- the kind -------------------------------------------------------------------------------
SideModels = tuple[type[Side] | None, type[Side] | None]


class ResourceKind(ABC):
    """One kind of thing orgkit manages. Subclasses fill in every part; a missing abstract
    method makes the kind impossible to instantiate and the registry test fails."""

    kind: ClassVar[str]  # the JSON contract's ``kind`` value and the address prefix
    heading: ClassVar[str]  # the plan view's heading for this kind's changes
    # Display and read order, and where its changes go in a plan unless sort_key says
    # otherwise: dependencies first.
    order: ClassVar[int]
    destroy_rank: ClassVar[int]  # where its destructive changes go: lower first
    destroy_flag: ClassVar[DestroyFlag]  # the flag its destructive changes need
    # For each action it plans: the models of ``before`` and ``after`` (None: no such side).
    models: ClassVar[Mapping[Action, SideModels]]
    # What its changes belong to, for ``--target`` (orgkit.plan.target): an account named in
    # the address (or by account id), an OU path, an attachment (a policy and an OU path or an
    # account), a policy (its name first), a stack set (its name first), a policy type, or the
    # organization as a whole (no target holds it).
    belongs_to: ClassVar[BelongsTo] = "organization"

    # -- read --------------------------------------------------------------------------------
    # What its read uses of the snapshot beyond the organization itself (LiveOrg field names;
    # None: everything the kinds before it read), and the fields it sets. Reads of kinds that
    # do not need each other's fields run at the same time (orgkit.live.schedule).
    needs: ClassVar[frozenset[str] | None] = None
    provides: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """Add what this kind compares to the snapshot: only the fields in ``provides``, from
        those in ``needs`` (kinds are read in ``order``, independent ones concurrently)."""

    # -- plan --------------------------------------------------------------------------------
    @abstractmethod
    def plan(self, ctx: PlanContext) -> PlanPart:
        """Pure: this kind's changes, unmanaged things and warnings. No I/O."""

    def sort_key(self, change: Change, ctx: PlanContext) -> tuple[Any, ...]:
        """Where a non-destructive change goes in the plan (stable within equal keys)."""
        return (self.order,)

    def destroy_key(self, change: Change) -> tuple[Any, ...]:
        """Where a destructive change goes among the destructive ones."""
        return (self.destroy_rank,)

    def is_destructive(self, change: Change) -> bool:
        """Whether a change needs ``destroy_flag``: decided here, never read from a file."""
        return change.action is Action.DELETE

    # -- apply -------------------------------------------------------------------------------
    @property
    @abstractmethod
    def handlers(self) -> Mapping[Action, BatchHandler]:
        """One handler per action this kind plans."""

    def batch_key(self, change: Change) -> Hashable | None:
        """Consecutive changes with the same non-None key run as one batch (account
        creations in parallel, stack set operations together); None: one at a time."""
        return None

    # -- views -------------------------------------------------------------------------------
    @abstractmethod
    def describe(self, change: Change) -> list[str]:
        """The lines the plan view prints under a change (diffs start with + or -)."""

    def note(self, change: Change) -> str:
        """A few words the text views print beside a change's address (a policy's type);
        empty: nothing. The JSON forms carry the same in ``before``/``after``."""
        return ""

    def finding(self, change: Change) -> Finding:
        """A change seen as a drift finding."""
        before = change.before.dump() if change.before is not None else None
        after = change.after.dump() if change.after is not None else None
        account_id = self.account_id(change)
        note = self.note(change)
        if change.action is Action.CREATE:
            return Finding(change.address, self.kind, account_id, "missing", after, None, note)
        # An update, or a destructive change: org.yaml wants it otherwise (or gone).
        return Finding(change.address, self.kind, account_id, "changed", after, before, note)

    def differing_fields(self, change: Change) -> list[str] | None:
        """The fields of an update that differ, when the kind knows them better than a
        comparison of ``before`` and ``after`` can (their models may differ in shape); None:
        compare them."""
        return None

    def account_id(self, change: Change) -> str | None:
        """The member account a change happens in, if any (drift reports it)."""
        for side in (change.after, change.before):
            value = getattr(side, "account_id", None)
            if value:
                return str(value)
        return None

    def unmanaged_account_id(self, item: Unmanaged, live: LiveOrg) -> str | None:
        """The account an unmanaged thing of this kind is, if it is one (drift reports it)."""
        return None

    def live_findings(self, live: LiveOrg) -> list[Finding]:
        """Findings only a deep read shows (for example a stack instance's status)."""
        return []


REQUIRED = ("kind", "heading", "order", "destroy_rank", "destroy_flag", "models")


def missing_parts(kind: ResourceKind) -> list[str]:
    """What a kind leaves out or gets wrong (abstract methods are enforced by Python)."""
    problems = [f"no {name}" for name in REQUIRED if not hasattr(kind, name)]
    if problems:
        return problems
    if not kind.kind.isidentifier() or kind.kind != kind.kind.lower():
        problems.append(f"kind {kind.kind!r} is not a lower-case identifier")
    if kind.destroy_flag not in FLAG_OPTIONS:
        problems.append(f"destroy_flag {kind.destroy_flag!r} is not one of {list(FLAG_OPTIONS)}")
    if not kind.models:
        problems.append("no models: it plans no action")
    for action, (before, after) in kind.models.items():
        for side, model in (("before", before), ("after", after)):
            if model is not None and not issubclass(model, Side):
                problems.append(f"{action.value} {side} model {model!r} is not a Side")
        if action is Action.CREATE and (before is not None or after is None):
            problems.append("create changes have an after and no before")
        if action is not Action.CREATE and before is None:
            problems.append(f"{action.value} changes need a before (what is live)")
    handled = set(kind.handlers)
    if handled != set(kind.models):
        problems.append(
            f"handlers for {sorted(a.value for a in handled)} but models for "
            f"{sorted(a.value for a in kind.models)}"
        )
    return problems
