"""Carry out a Plan change by change; one handler per (kind, action), looked up in a dict."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

from orgkit.apply.accounts import AccountRequest, PollPolicy, create_accounts
from orgkit.config.models import ROOT_PATH
from orgkit.errors import AwsError
from orgkit.live.model import LiveOrg
from orgkit.live.session import AwsContext
from orgkit.plan.model import Action, Change, Kind, Plan
from orgkit.config.policies import minify

SCP = "SERVICE_CONTROL_POLICY"
_RETRYABLE = {"ConcurrentModificationException", "TooManyRequestsException"}


class Reporter(Protocol):
    """Where apply tells what it is doing (the CLI shows it; tests record it)."""

    def change_started(self, change: Change) -> None: ...

    def change_done(self, change: Change, detail: str) -> None: ...

    def progress(self, change: Change, message: str) -> None: ...


@dataclass
class ApplyResult:
    """What was done, in order, with a short detail each."""

    done: list[tuple[Change, str]] = field(default_factory=list)


class _Ids:
    """Resolves orgkit's names (paths, emails, policy names) to AWS ids as apply goes."""

    def __init__(self, live: LiveOrg) -> None:
        self.root_id = live.root_id
        self.ous = {ou.path: ou.id for ou in live.ous}
        self.accounts = {a.email.lower(): a.id for a in live.accounts}
        self.policies = {p.name: p.id for p in live.policies if not p.aws_managed}

    def ou(self, path: str) -> str:
        if path == ROOT_PATH:
            return self.root_id
        try:
            return self.ous[path]
        except KeyError:
            raise AwsError(f"OU {path!r} does not exist") from None

    def target(self, name: str) -> str:
        if name.startswith("/"):
            return self.ou(name)
        try:
            return self.accounts[name.lower()]
        except KeyError:
            raise AwsError(f"account {name!r} does not exist") from None

    def rename(self, old: str, new: str) -> None:
        self.ous = {
            (new + path[len(old):] if path == old or path.startswith(old + "/") else path): i
            for path, i in self.ous.items()
        }


Handler = Callable[["_Executor", Change], str]


class _Executor:
    def __init__(
        self,
        aws: AwsContext,
        live: LiveOrg,
        reporter: Reporter,
        in_flight: int,
        poll: PollPolicy,
        sleep: Callable[[float], None],
    ) -> None:
        self.org = aws.client("organizations")
        self.ids = _Ids(live)
        self.reporter = reporter
        self.in_flight = in_flight
        self.poll = poll
        self.sleep = sleep

    def call(self, method: str, **kwargs: Any) -> Any:
        """Call Organizations, retrying the errors AWS says to retry."""
        delay = 1.0
        for attempt in range(6):
            try:
                return getattr(self.org, method)(**kwargs)
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                if code not in _RETRYABLE or attempt == 5:
                    raise
                self.sleep(delay)
                delay = min(delay * 2, 16.0)
        raise AssertionError("unreachable")

    # -- handlers -------------------------------------------------------------------------
    def enable_policy_type(self, change: Change) -> str:
        assert change.after
        self.call("enable_policy_type", RootId=self.ids.root_id, PolicyType=change.after["type"])
        return "enabled"

    def create_ou(self, change: Change) -> str:
        after = change.after
        assert after
        ou = self.call(
            "create_organizational_unit",
            ParentId=self.ids.ou(after["parent"]),
            Name=after["name"],
            Tags=_tags(after.get("tags", {})),
        )["OrganizationalUnit"]
        self.ids.ous[after["path"]] = ou["Id"]
        return ou["Id"]

    def rename_ou(self, change: Change) -> str:
        assert change.before and change.after
        self.call(
            "update_organizational_unit",
            OrganizationalUnitId=change.before["id"],
            Name=change.after["name"],
        )
        self.ids.rename(change.before["path"], change.after["path"])
        return f"renamed {change.before['name']} to {change.after['name']}"

    def delete_ou(self, change: Change) -> str:
        assert change.before
        self.call("delete_organizational_unit", OrganizationalUnitId=change.before["id"])
        return "deleted"

    def create_policy(self, change: Change) -> str:
        after = change.after
        assert after
        policy = self.call(
            "create_policy",
            Name=after["name"],
            Description=after.get("description", ""),
            Type=SCP,
            Content=minify(after["content"]),
            Tags=_tags(after.get("tags", {})),
        )["Policy"]["PolicySummary"]
        self.ids.policies[after["name"]] = policy["Id"]
        return policy["Id"]

    def update_policy(self, change: Change) -> str:
        after = change.after
        assert after
        self.call(
            "update_policy",
            PolicyId=after["id"],
            Description=after.get("description", ""),
            Content=minify(after["content"]),
        )
        return "updated"

    def delete_policy(self, change: Change) -> str:
        assert change.before
        self.call("delete_policy", PolicyId=change.before["id"])
        return "deleted"

    def attach(self, change: Change) -> str:
        after = change.after
        assert after
        policy_id = self.ids.policies[after["policy"]]
        self.call("attach_policy", PolicyId=policy_id, TargetId=self.ids.target(after["target"]))
        return "attached"

    def detach(self, change: Change) -> str:
        before = change.before
        assert before
        self.call("detach_policy", PolicyId=before["policy_id"], TargetId=before["target_id"])
        return "detached"

    def update_account(self, change: Change) -> str:
        before, after = change.before, change.after
        assert before and after
        done = []
        if "ou" in after:
            self.call(
                "move_account",
                AccountId=after["id"],
                SourceParentId=before["parent_id"],
                DestinationParentId=self.ids.ou(after["ou"]),
            )
            done.append(f"moved to {after['ou']}")
        if "tags" in after:
            self.call("tag_resource", ResourceId=after["id"], Tags=_tags(after["tags"]))
            done.append("tagged")
        return ", ".join(done)

    def retire_account(self, change: Change) -> str:
        before, after = change.before, change.after
        assert before and after
        if after["state"] == "closed":
            self.call("close_account", AccountId=before["id"])
            return "closure requested (AWS suspends it, then closes it within 90 days)"
        self.call("remove_account_from_organization", AccountId=before["id"])
        return "removed from the organization"

    def create_account_batch(self, changes: list[Change]) -> list[tuple[Change, str]]:
        """Create a run of accounts in parallel, then move each into its OU."""
        by_key = {c.address: c for c in changes}
        requests = []
        for change in changes:
            after = change.after
            assert after
            self.reporter.change_started(change)
            requests.append(
                AccountRequest(
                    key=change.address,
                    name=after["name"],
                    email=after["email"],
                    role_name=after["access_role"],
                    tags=after.get("tags", {}),
                    resume_request_id=after.get("resume_request_id"),
                )
            )

        def on_update(request: AccountRequest, message: str) -> None:
            self.reporter.progress(by_key[request.key], message)

        created, failed = create_accounts(
            self.org, requests, self.in_flight, on_update, self.poll, self.sleep
        )
        done: list[tuple[Change, str]] = []
        for change in changes:
            if change.address not in created:
                continue
            assert change.after
            account_id = created[change.address]
            self.ids.accounts[change.after["email"]] = account_id
            detail = f"created {account_id}"
            if change.after["ou"] != ROOT_PATH:
                self.call(
                    "move_account",
                    AccountId=account_id,
                    SourceParentId=self.ids.root_id,
                    DestinationParentId=self.ids.ou(change.after["ou"]),
                )
                detail += f" in {change.after['ou']}"
            self.reporter.change_done(change, detail)
            done.append((change, detail))
        if failed:
            first = next(iter(failed.values()))
            lines = "\n".join(f"  {key}: {err.message}" for key, err in failed.items())
            raise _PartialFailure(
                done, AwsError(f"{len(failed)} account(s) could not be created:\n{lines}",
                               hint=first.hint)
            )
        return done


class _PartialFailure(Exception):
    def __init__(self, done: list[tuple[Change, str]], error: AwsError) -> None:
        super().__init__(error.message)
        self.done = done
        self.error = error


HANDLERS: dict[tuple[Kind, Action], Handler] = {
    (Kind.POLICY_TYPE, Action.CREATE): _Executor.enable_policy_type,
    (Kind.OU, Action.CREATE): _Executor.create_ou,
    (Kind.OU, Action.UPDATE): _Executor.rename_ou,
    (Kind.OU, Action.DELETE): _Executor.delete_ou,
    (Kind.POLICY, Action.CREATE): _Executor.create_policy,
    (Kind.POLICY, Action.UPDATE): _Executor.update_policy,
    (Kind.POLICY, Action.DELETE): _Executor.delete_policy,
    (Kind.ACCOUNT, Action.UPDATE): _Executor.update_account,
    (Kind.ACCOUNT, Action.DELETE): _Executor.retire_account,
    (Kind.POLICY_ATTACHMENT, Action.CREATE): _Executor.attach,
    (Kind.POLICY_ATTACHMENT, Action.DELETE): _Executor.detach,
}


def apply_plan(
    plan: Plan,
    aws: AwsContext,
    live: LiveOrg,
    reporter: Reporter,
    *,
    in_flight: int = 5,
    poll: PollPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ApplyResult:
    """Do exactly the plan's changes, in order; stop at the first failure and say why.

    Consecutive account creations run together, ``in_flight`` at a time. The caller must
    have checked the management account and that ``live`` is what the plan was made from.
    """
    executor = _Executor(aws, live, reporter, in_flight, poll or PollPolicy(), sleep)
    result = ApplyResult()
    changes = list(plan.changes)
    index = 0
    while index < len(changes):
        change = changes[index]
        if change.kind is Kind.ACCOUNT and change.action is Action.CREATE:
            batch = [change]
            while (
                index + len(batch) < len(changes)
                and changes[index + len(batch)].kind is Kind.ACCOUNT
                and changes[index + len(batch)].action is Action.CREATE
            ):
                batch.append(changes[index + len(batch)])
            try:
                result.done += executor.create_account_batch(batch)
            except _PartialFailure as failure:
                result.done += failure.done
                raise _stopped(failure.error, result, len(changes)) from None
            except ClientError as exc:
                raise _stopped(_client_error(batch[0], exc), result, len(changes)) from exc
            index += len(batch)
            continue
        handler = HANDLERS[(change.kind, change.action)]
        reporter.change_started(change)
        try:
            detail = handler(executor, change)
        except ClientError as exc:
            raise _stopped(_client_error(change, exc), result, len(changes)) from exc
        except AwsError as exc:
            raise _stopped(exc, result, len(changes)) from exc
        reporter.change_done(change, detail)
        result.done.append((change, detail))
        index += 1
    return result


def _client_error(change: Change, exc: ClientError) -> AwsError:
    error = exc.response.get("Error", {})
    return AwsError(
        f"{change.action.value} {change.address} failed: "
        f"{error.get('Code', 'Error')}: {error.get('Message', exc)}"
    )


def _stopped(error: AwsError, result: ApplyResult, total: int) -> AwsError:
    done = len(result.done)
    return AwsError(
        f"{error.message}\napply stopped after {done} of {total} changes",
        hint=(error.hint + "\n" if error.hint else "")
        + "Nothing done is undone; run `orgkit plan` to see what remains, then apply again.",
    )


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


