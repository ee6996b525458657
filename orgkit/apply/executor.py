"""Carry out a Plan change by change; one handler per (kind, action), looked up in a dict."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from orgkit.apply.accounts import AccountRequest, PollPolicy, create_accounts
from orgkit.apply.stacksets import OperationPoll, StackSetApplier
from orgkit.config.models import ROOT_PATH
from orgkit.config.policies import minify
from orgkit.errors import AccountCreationError, AwsError
from orgkit.live.model import PERMISSIONS_POLICY, LiveOrg
from orgkit.live.session import AwsContext
from orgkit.plan.model import Action, Change, Kind, Plan
from orgkit.plan.roles import GITHUB_THUMBPRINT, fill_account_id

SCP = "SERVICE_CONTROL_POLICY"
STACK_KINDS = {Kind.STACK_SET, Kind.STACK_INSTANCE}
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
        self.aws = aws
        self.org = aws.client("organizations")
        self.ids = _Ids(live)
        self.management_id = live.management_account_id
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

    def account_id_of(self, after: dict[str, Any]) -> str:
        """The account id a change names, resolving accounts created in this apply."""
        return self._account_of(after)[0]

    def _account_of(self, after: dict[str, Any]) -> tuple[str, bool]:
        """The account a change is for, and whether this apply just created it."""
        if after.get("account_id"):
            return str(after["account_id"]), False
        return self.ids.target(after["account_email"]), True

    def ensure_role(self, change: Change) -> str:
        """Create or bring in shape one role (with its boundary and OIDC provider)."""
        after = change.after
        assert after
        account_id, new = self._account_of(after)
        if after["access_role"] is None:
            iam = self.aws.client("iam")
        else:
            iam = self.aws.members().client(account_id, after["access_role"], "iam",
                                            new_account=new)
        create = change.action is Action.CREATE
        differs = set((change.before or {}).get("differs", []))

        def needs(part: str) -> bool:
            return create or part in differs

        def doc(document: Any) -> str:
            return minify(fill_account_id(document, account_id))

        name = after["role_name"]
        done = []
        if after.get("oidc_provider") and needs("oidc_provider"):
            done.append(_ensure_oidc_provider(iam, after["oidc_provider"]))
        boundary_arn = None
        if after.get("boundary_name"):
            boundary_arn = f"arn:aws:iam::{account_id}:policy/{after['boundary_name']}"
            if needs("boundary"):
                done.append(_ensure_managed_policy(iam, boundary_arn, after["boundary_name"],
                                                   doc(after["boundary"])))
        if create:
            kwargs: dict[str, Any] = {
                "RoleName": name,
                "AssumeRolePolicyDocument": doc(after["trust"]),
                "MaxSessionDuration": after["max_session_duration"],
                "Description": f"orgkit: {after['purpose']}",
                "Tags": _tags({"ManagedBy": "orgkit", "Purpose": after["purpose"]}),
            }
            if boundary_arn:
                kwargs["PermissionsBoundary"] = boundary_arn
            iam.create_role(**kwargs)
            done.append("role created")
        else:
            if "trust" in differs:
                iam.update_assume_role_policy(RoleName=name, PolicyDocument=doc(after["trust"]))
                done.append("trust updated")
            if "max_session_duration" in differs:
                iam.update_role(RoleName=name, MaxSessionDuration=after["max_session_duration"])
                done.append("session duration updated")
            if boundary_arn and "boundary" in differs:
                iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=boundary_arn)
        for extra in (change.before or {}).get("extra_policies", []) if not create else []:
            kind, _, name_or_arn = extra.partition(":")
            if kind == "inline":
                iam.delete_role_policy(RoleName=name, PolicyName=name_or_arn)
            else:
                iam.detach_role_policy(RoleName=name, PolicyArn=name_or_arn)
            done.append(f"removed {extra}")
        if needs("permissions"):
            iam.put_role_policy(RoleName=name, PolicyName=PERMISSIONS_POLICY,
                                PolicyDocument=doc(after["permissions"]))
            done.append("permissions set")
        return f"{account_id}: " + ", ".join(done)

    def create_budget(self, change: Change) -> str:
        after = change.after
        assert after
        account_id, _ = self._account_of(after)
        name = fill_account_id(after["name"], account_id)
        self.aws.client("budgets").create_budget(
            AccountId=self.management_id,
            Budget=_budget(name, after, account_id),
            NotificationsWithSubscribers=[
                {"Notification": _notification(n), "Subscribers": _subscribers(n)}
                for n in after["notifications"]
            ],
        )
        return f"{name}: {after['amount']:g} {after['currency']} a month"

    def update_budget(self, change: Change) -> str:
        before, after = change.before, change.after
        assert before and after
        account_id = str(after["account_id"])
        budgets = self.aws.client("budgets")
        done = []
        if (before["amount"], before["currency"], before["linked_accounts"],
                before.get("time_unit")) != (
            after["amount"], after["currency"], [account_id], after["time_unit"]
        ):
            budgets.update_budget(AccountId=self.management_id,
                                  NewBudget=_budget(after["name"], after, account_id))
            done.append(f"{after['amount']:g} {after['currency']} a month")
        for notification in before["notifications"]:
            if notification not in after["notifications"]:
                budgets.delete_notification(AccountId=self.management_id,
                                            BudgetName=after["name"],
                                            Notification=_notification(notification))
                done.append(f"removed {notification['type']} {notification['threshold']:g}%")
        for notification in after["notifications"]:
            if notification not in before["notifications"]:
                budgets.create_notification(AccountId=self.management_id,
                                            BudgetName=after["name"],
                                            Notification=_notification(notification),
                                            Subscribers=_subscribers(notification))
                done.append(f"added {notification['type']} {notification['threshold']:g}%")
        return ", ".join(done)

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
                try:
                    self.call(
                        "move_account",
                        AccountId=account_id,
                        SourceParentId=self.ids.root_id,
                        DestinationParentId=self.ids.ou(change.after["ou"]),
                    )
                except (ClientError, AwsError) as exc:
                    message = exc.message if isinstance(exc, AwsError) else str(exc)
                    failed[change.address] = AccountCreationError(
                        f"account {account_id} was created but not moved to "
                        f"{change.after['ou']}: {message}",
                        hint="Run apply again: the plan will show the move.")
                    continue
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
    (Kind.DEPLOYMENT_ROLE, Action.CREATE): _Executor.ensure_role,
    (Kind.DEPLOYMENT_ROLE, Action.UPDATE): _Executor.ensure_role,
    (Kind.BUDGET, Action.CREATE): _Executor.create_budget,
    (Kind.BUDGET, Action.UPDATE): _Executor.update_budget,
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
    stack_poll: OperationPoll | None = None,
    home_region: str = "us-east-1",
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
        if change.kind in STACK_KINDS:
            run = [change]
            while index + len(run) < len(changes) and changes[index + len(run)].kind in STACK_KINDS:
                run.append(changes[index + len(run)])
            for item in run:
                reporter.change_started(item)
            applier = StackSetApplier(
                aws.client("cloudformation", home_region), executor.account_id_of,
                reporter.progress,
                sleep=sleep, poll=stack_poll or OperationPoll())
            done, errors = applier.run(run)
            for item, detail in done:
                reporter.change_done(item, detail)
            result.done += done
            if errors:
                message = "\n".join(e.message for e in errors)
                raise _stopped(AwsError(message, hint=errors[0].hint), result, len(changes))
            index += len(run)
            continue
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
            except (BotoCoreError, ResponseParserError) as exc:
                error = AwsError(f"creating accounts failed: {exc}")
                raise _stopped(error, result, len(changes)) from exc
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
        except (BotoCoreError, ResponseParserError) as exc:
            error = AwsError(f"{change.action.value} {change.address} failed: {exc}")
            raise _stopped(error, result, len(changes)) from exc
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


def _budget(name: str, after: dict[str, Any], account_id: str) -> dict[str, Any]:
    return {
        "BudgetName": name,
        "BudgetLimit": {"Amount": f"{after['amount']:.2f}", "Unit": after["currency"]},
        "TimeUnit": after.get("time_unit", "MONTHLY"),
        "BudgetType": "COST",
        "CostFilters": {"LinkedAccount": [account_id]},
    }


def _notification(notification: dict[str, Any]) -> dict[str, Any]:
    return {
        "NotificationType": notification["type"],
        "ComparisonOperator": notification.get("comparison", "GREATER_THAN"),
        "Threshold": notification["threshold"],
        "ThresholdType": notification.get("threshold_type", "PERCENTAGE"),
    }


def _subscribers(notification: dict[str, Any]) -> list[dict[str, str]]:
    return [{"SubscriptionType": kind, "Address": address}
            for kind, address in notification["subscribers"]]


def _ensure_oidc_provider(iam: Any, host: str) -> str:
    try:
        iam.create_open_id_connect_provider(
            Url=f"https://{host}", ClientIDList=["sts.amazonaws.com"],
            ThumbprintList=[GITHUB_THUMBPRINT],
            Tags=_tags({"ManagedBy": "orgkit"}),
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
        return f"OIDC provider {host} already there"
    return f"OIDC provider {host} created"


def _ensure_managed_policy(iam: Any, arn: str, name: str, document: str) -> str:
    """Create the policy, or make ``document`` its default version (keeping within 5)."""
    try:
        iam.get_policy(PolicyArn=arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchEntity":
            raise
        iam.create_policy(PolicyName=name, PolicyDocument=document,
                          Description="orgkit: permissions boundary",
                          Tags=_tags({"ManagedBy": "orgkit"}))
        return f"boundary {name} created"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    if len(versions) >= 5:
        oldest = min((v for v in versions if not v["IsDefaultVersion"]),
                     key=lambda v: v["CreateDate"])
        iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=document, SetAsDefault=True)
    return f"boundary {name} updated"


