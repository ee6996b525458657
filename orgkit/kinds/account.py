"""``account``: member accounts, identified by email; created, moved, tagged, closed.

CreateAccount is asynchronous: requests start (or resume) up to ``in_flight`` at a time and wait
on one shared poller (:class:`StatusBoard`); a request still IN_PROGRESS from an earlier run is
resumed, never repeated.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.changes import Action, Change, Side, Unmanaged, address
from orgkit.config.models import AccountSpec
from orgkit.errors import AccountCreationError, AwsError
from orgkit.kinds.base import (
    ACCOUNT_POLL,
    ApplyContext,
    ApplyFailure,
    BatchHandler,
    PlanContext,
    PlanPart,
    Poll,
    ReadContext,
    ResourceKind,
    SideModels,
    one_at_a_time,
)
from orgkit.live.model import LiveAccount, LiveOrg, PendingAccount
from orgkit.live.reader import READ_HINT, parallel
from orgkit.live.session import aws_error
from orgkit.names import ROOT_PATH, aws_tags, managed_tags

CLOSED_STATUSES = {"SUSPENDED", "PENDING_CLOSURE"}

# FailureReason values of DescribeCreateAccountStatus, said as a person needs to hear them.
FAILURE_HINTS = {
    "EMAIL_ALREADY_EXISTS": "another AWS account already uses this email; pick another "
    "email, or invite the existing account to the organization and declare it",
    "ACCOUNT_LIMIT_EXCEEDED": "the organization has reached its account quota; ask AWS "
    "Support for more accounts",
    "INVALID_EMAIL": "AWS rejected the email address",
    "INVALID_ADDRESS": "the management account's address is invalid",
    "CONCURRENT_ACCOUNT_MODIFICATION": "another account operation was in progress; run apply again",
    "INTERNAL_FAILURE": "AWS had an internal failure; run apply again later",
    "MISSING_PAYMENT_INSTRUMENT": "the management account has no valid payment method",
    "MISSING_BUSINESS_VALIDATION": "the management account has not completed business validation",
    "PENDING_BUSINESS_VALIDATION": "business validation of the management account is "
    "still in progress",
    "FAILED_BUSINESS_VALIDATION": "business validation of the management account failed",
    "UNKNOWN_BUSINESS_VALIDATION": "the management account's business validation is in "
    "an unknown state",
    "GOVCLOUD_ACCOUNT_ALREADY_EXISTS": "a GovCloud account already exists for this account",
    "UPDATE_EXISTING_RESOURCE_POLICY_WITH_TAGS_NOT_SUPPORTED": "the tags could not be "
    "applied to the new account",
}


class NewAccount(Side):
    """An account to create (or whose earlier CreateAccount request to resume)."""

    omit_none: ClassVar[frozenset[str]] = frozenset({"resume_request_id"})

    name: str
    email: str
    ou: str
    environment: str
    project: str | None
    access_role: str
    tags: dict[str, str]
    resume_request_id: str | None = None


class AccountState(Side):
    """What of a live account differs: its OU (with the parent id MoveAccount takes) and the
    declared tags' live values. Only what differs is present."""

    omit_none: ClassVar[frozenset[str]] = frozenset({"ou", "parent_id", "tags"})

    email: str
    id: str
    ou: str | None = None
    parent_id: str | None = None
    tags: dict[str, str | None] | None = None


class AccountTarget(Side):
    """What org.yaml wants of a live account: its OU and tags, where they differ."""

    omit_none: ClassVar[frozenset[str]] = frozenset({"ou", "tags"})

    email: str
    id: str
    ou: str | None = None
    tags: dict[str, str] | None = None


class LiveAccountRef(Side):
    """A live account to close or remove."""

    email: str
    name: str
    id: str
    ou: str


class Retirement(Side):
    """How the account leaves: ``closed`` or ``removed`` (from the organization)."""

    state: str


# -- read -----------------------------------------------------------------------------------
def _pending_accounts(org: Any) -> list[PendingAccount]:
    pages = org.get_paginator("list_create_account_status").paginate(States=["IN_PROGRESS"])
    return [
        PendingAccount(request_id=s["Id"], account_name=s.get("AccountName", ""))
        for page in pages
        for s in page["CreateAccountStatuses"]
    ]


def read_accounts(ctx: ReadContext, live: LiveOrg) -> LiveOrg:
    """``live`` with the accounts under its root and every OU (one paged call per parent) and
    the CreateAccount requests still in progress; no tags (those cost one call per account)."""
    org = ctx.aws.client("organizations")
    try:
        accounts = ctx.structure(live).accounts
        pending = _pending_accounts(org)
    except (ClientError, BotoCoreError) as exc:
        raise aws_error("reading the accounts", exc, READ_HINT) from exc
    return replace(live, accounts=tuple(accounts), pending_accounts=tuple(pending))


# -- apply: creation --------------------------------------------------------------------------
@dataclass(frozen=True)
class AccountRequest:
    """One account to create (or whose earlier request to resume)."""

    key: str  # the change address, for reporting
    name: str
    email: str
    role_name: str
    tags: dict[str, str]
    resume_request_id: str | None = None


def create_accounts(
    org: Any,
    requests: list[AccountRequest],
    in_flight: int,
    on_update: Callable[[AccountRequest, str], None],
    poll: Poll = ACCOUNT_POLL,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[dict[str, str], dict[str, AccountCreationError]]:
    """Create accounts at most ``in_flight`` at a time.

    Returns (account ids by request key, errors by request key); every request runs to its end
    even when another fails, so nothing started is left unreported.
    """

    board = StatusBoard(org, poll, sleep, clock)

    def one(request: AccountRequest) -> tuple[str, str | AccountCreationError]:
        try:
            return request.key, _create_one(org, request, on_update, board)
        except AccountCreationError as exc:
            on_update(request, f"failed: {exc.message}")
            return request.key, exc
        except (ClientError, BotoCoreError) as exc:
            error = aws_error(
                f"creating account {request.email}",
                exc,
                "Run apply again: an IN_PROGRESS request is resumed, never repeated.",
            )
            failure = AccountCreationError(error.message, hint=error.hint)
            on_update(request, f"failed: {failure.message}")
            return request.key, failure

    created: dict[str, str] = {}
    failed: dict[str, AccountCreationError] = {}
    for key, outcome in parallel(one, requests, workers=max(1, in_flight)):
        if isinstance(outcome, AccountCreationError):
            failed[key] = outcome
        else:
            created[key] = outcome
    return created, failed


def _create_one(
    org: Any,
    request: AccountRequest,
    on_update: Callable[[AccountRequest, str], None],
    board: StatusBoard,
) -> str:
    if request.resume_request_id:
        request_id = request.resume_request_id
        on_update(request, f"resuming CreateAccount request {request_id}")
    else:
        status = org.create_account(
            Email=request.email,
            AccountName=request.name,
            RoleName=request.role_name,
            IamUserAccessToBilling="ALLOW",
            Tags=aws_tags(request.tags),
        )["CreateAccountStatus"]
        request_id = status["Id"]
        on_update(request, f"requested ({request_id})")
    # One look straight away (AWS refuses some requests at once: EMAIL_ALREADY_EXISTS), then
    # the board's shared polls until the request ends.
    status = org.describe_create_account_status(CreateAccountRequestId=request_id)[
        "CreateAccountStatus"
    ]
    if status["State"] == "IN_PROGRESS":
        on_update(request, "in progress")
        status = board.wait(request_id)
    state = status["State"]
    if state == "SUCCEEDED":
        on_update(request, f"created {status['AccountId']}")
        return str(status["AccountId"])
    if state == "FAILED":
        reason = status.get("FailureReason", "UNKNOWN")
        if reason == "EMAIL_ALREADY_EXISTS":
            # A CreateAccount retried after a lost response fails this way while the first
            # request made the account: if the email is in this organization, it is ours.
            existing = _account_with_email(org, request.email)
            if existing is not None:
                on_update(request, f"already in the organization as {existing}")
                return existing
        raise AccountCreationError(
            f"creating account {request.email} failed: {reason}",
            hint=FAILURE_HINTS.get(reason, "see DescribeCreateAccountStatus for details"),
        )
    raise AccountCreationError(
        f"account {request.email} still IN_PROGRESS after {board.poll.timeout:.0f}s "
        f"(request {request_id})",
        hint="Run apply again later: orgkit resumes the request instead of "
        "creating the account twice.",
    )


class StatusBoard:
    """Where in-flight CreateAccount requests wait for their end.

    One poller looks at all of them every ``poll.first_delay`` seconds with one
    ListCreateAccountStatus (IN_PROGRESS) page, and asks DescribeCreateAccountStatus only about
    a request that has left that list (for its account id or failure reason): a few calls a
    second at most, however many requests are in flight, and a finished account is seen within
    one interval instead of a backoff's doubling wait.
    """

    def __init__(
        self,
        org: Any,
        poll: Poll,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.org, self.poll, self.sleep, self.clock = org, poll, sleep, clock
        self._lock = threading.Lock()
        self._waiting: dict[str, tuple[Future[dict[str, Any]], float]] = {}
        self._polling = False

    def wait(self, request_id: str) -> dict[str, Any]:
        """The request's last status: SUCCEEDED or FAILED, or IN_PROGRESS past the timeout."""
        future: Future[dict[str, Any]] = Future()
        with self._lock:
            self._waiting[request_id] = (future, self.clock() + self.poll.timeout)
            start = not self._polling
            self._polling = True
        if start:
            threading.Thread(target=self._run, name="account-status", daemon=True).start()
        return future.result()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self._polling = False
                    return
            self.sleep(self.poll.first_delay)
            try:
                self._look()
            except (ClientError, BotoCoreError) as exc:
                with self._lock:
                    waiting, self._waiting = self._waiting, {}
                for future, _ in waiting.values():
                    future.set_exception(exc)

    def _look(self) -> None:
        pages = self.org.get_paginator("list_create_account_status").paginate(
            States=["IN_PROGRESS"]
        )
        in_progress = {s["Id"] for page in pages for s in page["CreateAccountStatuses"]}
        with self._lock:
            waiting = dict(self._waiting)
        now = self.clock()
        for request_id, (future, deadline) in waiting.items():
            if request_id in in_progress and now < deadline:
                continue
            status = self.org.describe_create_account_status(CreateAccountRequestId=request_id)[
                "CreateAccountStatus"
            ]
            if status["State"] == "IN_PROGRESS" and now < deadline:
                continue  # the list and the request disagree for a moment: look again
            with self._lock:
                self._waiting.pop(request_id, None)
            future.set_result(status)


def _account_with_email(org: Any, email: str) -> str | None:
    pages = org.get_paginator("list_accounts").paginate()
    for page in pages:
        for account in page["Accounts"]:
            if account["Email"].lower() == email.lower():
                return str(account["Id"])
    return None


def create_batch(ctx: ApplyContext, changes: list[Change]) -> list[tuple[Change, str]]:
    """Create a run of accounts in parallel, then move each into its OU."""
    org = ctx.aws.client("organizations")
    by_key = {c.address: c for c in changes}
    requests = []
    for change in changes:
        after = change.new(NewAccount)
        requests.append(
            AccountRequest(
                key=change.address,
                name=after.name,
                email=after.email,
                role_name=after.access_role,
                tags=after.tags,
                resume_request_id=after.resume_request_id,
            )
        )

    def on_update(request: AccountRequest, message: str) -> None:
        ctx.reporter.progress(by_key[request.key], message)

    created, failed = create_accounts(
        org, requests, ctx.in_flight, on_update, ctx.account_poll, ctx.sleep, ctx.clock
    )
    done: list[tuple[Change, str]] = []
    for change in changes:
        if change.address not in created:
            continue
        after = change.new(NewAccount)
        account_id = created[change.address]
        ctx.ids.accounts[after.email] = account_id
        detail = f"created {account_id}"
        if after.ou != ROOT_PATH:
            try:
                org.move_account(
                    AccountId=account_id,
                    SourceParentId=ctx.ids.root_id,
                    DestinationParentId=ctx.ids.ou(after.ou),
                )
            except (ClientError, BotoCoreError, AwsError) as exc:
                message = exc.message if isinstance(exc, AwsError) else str(exc)
                failed[change.address] = AccountCreationError(
                    f"account {account_id} was created but not moved to {after.ou}: {message}",
                    hint="Run apply again: the plan will show the move.",
                )
                continue
            detail += f" in {after.ou}"
        done.append((change, detail))
    if failed:
        first = next(iter(failed.values()))
        lines = "\n".join(f"  {key}: {err.message}" for key, err in failed.items())
        raise ApplyFailure(
            done,
            AwsError(f"{len(failed)} account(s) could not be created:\n{lines}", hint=first.hint),
        )
    return done


# -- apply: the rest ------------------------------------------------------------------------
def update(ctx: ApplyContext, change: Change) -> str:
    """MoveAccount and/or TagResource."""
    before, after = change.old(AccountState), change.new(AccountTarget)
    org = ctx.aws.client("organizations")
    done = []
    if after.ou is not None:
        org.move_account(
            AccountId=after.id,
            SourceParentId=before.parent_id,
            DestinationParentId=ctx.ids.ou(after.ou),
        )
        done.append(f"moved to {after.ou}")
    if after.tags is not None:
        org.tag_resource(ResourceId=after.id, Tags=aws_tags(after.tags))
        done.append("tagged")
    return ", ".join(done)


def retire(ctx: ApplyContext, change: Change) -> str:
    """CloseAccount or RemoveAccountFromOrganization."""
    before, after = change.old(LiveAccountRef), change.new(Retirement)
    org = ctx.aws.client("organizations")
    if after.state == "closed":
        org.close_account(AccountId=before.id)
        return "closure requested (AWS suspends it, then closes it within 90 days)"
    org.remove_account_from_organization(AccountId=before.id)
    return "removed from the organization"


class AccountKind(ResourceKind):
    """Member accounts: created (in parallel) and moved into their OU, moved, tagged; closed
    or removed with ``--allow-close-accounts``. The management account is never managed."""

    kind = "account"
    heading = "Accounts"
    order = 40
    needs = frozenset()
    provides = frozenset({"accounts", "pending_accounts"})
    destroy_rank = 3
    destroy_flag = "allow_close_accounts"
    belongs_to = "account"
    models: ClassVar[Mapping[Action, SideModels]] = {
        Action.CREATE: (None, NewAccount),
        Action.UPDATE: (AccountState, AccountTarget),
        Action.DELETE: (LiveAccountRef, Retirement),
    }

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """Accounts per parent (root and every OU), CreateAccount requests still in progress,
        and the tags of the accounts whose tags org.yaml declares (one call each, started as
        the structure read lists each parent's accounts: ReadContext.account_tags)."""
        live = read_accounts(ctx, live)
        try:
            tag_sets = ctx.account_tags(live)
        except (ClientError, BotoCoreError) as exc:
            raise aws_error("reading the accounts", exc, READ_HINT) from exc
        return replace(
            live, accounts=tuple(replace(a, tags=tag_sets.get(a.id)) for a in live.accounts)
        )

    def plan(self, ctx: PlanContext) -> PlanPart:
        part = PlanPart()
        live_accounts = ctx.live.account_by_email
        pending = {p.account_name: p for p in ctx.live.pending_accounts}
        creates: list[Change] = []
        updates: list[Change] = []
        for spec in ctx.spec.accounts:
            email = spec.email.lower()
            live = live_accounts.get(email)
            addr = address(self.kind, email)
            if live is not None and live.id == ctx.live.management_account_id:
                part.warnings.append(
                    f"{email} is the management account; orgkit does not "
                    "manage it as a member account"
                )
                continue
            if spec.state != "active":
                if live is not None and live.status not in CLOSED_STATUSES:
                    part.changes.append(
                        Change(
                            addr,
                            self.kind,
                            Action.DELETE,
                            LiveAccountRef(
                                email=email, name=live.name, id=live.id, ou=ctx.account_ou(live)
                            ),
                            Retirement(state=spec.state),
                        )
                    )
                continue
            if live is None:
                resume = pending[spec.name].request_id if spec.name in pending else None
                creates.append(
                    Change(
                        addr, self.kind, Action.CREATE, None, self._new_account(ctx, spec, resume)
                    )
                )
                continue
            if live.status in CLOSED_STATUSES:
                part.warnings.append(
                    f"account {email} ({live.id}) is {live.status}; org.yaml says active, "
                    "and a closed account cannot be reopened by orgkit"
                )
                continue
            update = self._update(ctx, spec, live)
            if update is not None:
                updates.append(update)
        # Creations together (apply runs them in parallel), then moves and tag updates.
        part.changes += creates + updates
        declared = {a.email.lower() for a in ctx.spec.accounts}
        for live in ctx.live.accounts:
            if live.id != ctx.live.management_account_id and live.email.lower() not in declared:
                part.unmanaged.append(
                    Unmanaged(
                        address(self.kind, live.email.lower()),
                        self.kind,
                        f"account {live.id} ({live.name}) in {ctx.account_ou(live)} not in "
                        "org.yaml",
                    )
                )
        return part

    def _new_account(self, ctx: PlanContext, spec: AccountSpec, resume: str | None) -> NewAccount:
        tags = managed_tags(
            ctx.spec.organization.tags,
            {"Environment": spec.environment.value},
            {"Project": spec.project} if spec.project else {},
            spec.tags,
        )
        return NewAccount(
            name=spec.name,
            email=spec.email.lower(),
            ou=spec.ou,
            environment=spec.environment.value,
            project=spec.project,
            access_role=ctx.spec.access_role(spec),
            tags=tags,
            resume_request_id=resume,
        )

    def _update(self, ctx: PlanContext, spec: AccountSpec, live: LiveAccount) -> Change | None:
        email = spec.email.lower()
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        current_ou = ctx.account_ou(live)
        if current_ou != spec.ou:
            before["ou"], after["ou"] = current_ou, spec.ou
            before["parent_id"] = live.parent_id
        live_tags = live.tag_map
        if spec.tags and live_tags is not None:
            differing = {k: v for k, v in spec.tags.items() if live_tags.get(k) != v}
            if differing:
                before["tags"] = {k: live_tags.get(k) for k in differing}
                after["tags"] = differing
        if not after:
            return None
        return Change(
            address(self.kind, email),
            self.kind,
            Action.UPDATE,
            AccountState(email=email, id=live.id, **before),
            AccountTarget(email=email, id=live.id, **after),
        )

    def batch_key(self, change: Change) -> Hashable | None:
        """Consecutive creations run together, ``in_flight`` at a time."""
        return "create-accounts" if change.action is Action.CREATE else None

    @property
    def handlers(self) -> Mapping[Action, BatchHandler]:
        return {
            Action.CREATE: create_batch,
            Action.UPDATE: one_at_a_time(update),
            Action.DELETE: one_at_a_time(retire),
        }

    def describe(self, change: Change) -> list[str]:
        if change.action is Action.CREATE:
            after = change.new(NewAccount)
            extra = (
                f", resuming request {after.resume_request_id}" if after.resume_request_id else ""
            )
            return [f"{after.name} in {after.ou} ({after.environment}){extra}"]
        if change.action is Action.DELETE:
            before, retirement = change.old(LiveAccountRef), change.new(Retirement)
            verb = "close" if retirement.state == "closed" else "remove from the organization"
            return [f"{verb}: {before.name} ({before.id}) in {before.ou}"]
        old, new = change.old(AccountState), change.new(AccountTarget)
        lines = []
        if new.ou is not None:
            lines.append(f"ou: {old.ou} -> {new.ou}")
        for key, value in sorted((new.tags or {}).items()):
            lines.append(f"tag {key}: {(old.tags or {}).get(key)!r} -> {value!r}")
        return lines

    def account_id(self, change: Change) -> str | None:
        """The account itself."""
        for side in (change.after, change.before):
            value = getattr(side, "id", None)
            if value:
                return str(value)
        return None

    def unmanaged_account_id(self, item: Unmanaged, live: LiveOrg) -> str | None:
        """An unmanaged account's id, for drift."""
        account = live.account_by_email.get(item.address.split('"')[1])
        return account.id if account else None


KIND = AccountKind()
