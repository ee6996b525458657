"""Apply stack set changes: one operation per stack set at a time, stack sets in parallel.

Instance changes are batched into as few operations as StackSets allows: one per distinct set
of parameter overrides (in practice one per environment), each waited for with backoff.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from orgkit.errors import AwsError
from orgkit.plan.model import Action, Change, Kind

TERMINAL_FAILURES = {"FAILED", "STOPPED"}
PARALLEL_STACK_SETS = 4


@dataclass(frozen=True)
class OperationPoll:
    """How patiently to wait for a stack set operation."""

    first_delay: float = 2.0
    max_delay: float = 30.0
    timeout: float = 2 * 3600.0


class StackSetApplier:
    """Carries out the changes of one or more stack sets."""

    def __init__(
        self,
        cfn: Any,
        account_id_of: Callable[[dict[str, Any]], str],
        progress: Callable[[Change, str], None],
        sleep: Callable[[float], None] = time.sleep,
        poll: OperationPoll = OperationPoll(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfn = cfn
        self.account_id_of = account_id_of
        self.progress = progress
        self.sleep = sleep
        self.poll = poll
        self.clock = clock

    def run(self, changes: list[Change]) -> tuple[list[tuple[Change, str]], list[AwsError]]:
        """Apply every change, grouped by stack set; stack sets run in parallel."""
        groups: dict[str, list[Change]] = {}
        for change in changes:
            groups.setdefault(_stack_set_name(change), []).append(change)
        done: list[tuple[Change, str]] = []
        errors: list[AwsError] = []
        with ThreadPoolExecutor(max_workers=PARALLEL_STACK_SETS) as pool:
            for group_done, error in pool.map(self._one_stack_set, groups.values()):
                done += group_done
                if error is not None:
                    errors.append(error)
        return done, errors

    def _one_stack_set(
        self, changes: list[Change]
    ) -> tuple[list[tuple[Change, str]], AwsError | None]:
        done: list[tuple[Change, str]] = []
        try:
            steps: list[tuple[Callable[[list[Change]], str], list[Change]]] = []
            for kind, action in ((Kind.STACK_SET, Action.CREATE), (Kind.STACK_SET, Action.UPDATE),
                                 (Kind.STACK_INSTANCE, Action.CREATE),
                                 (Kind.STACK_INSTANCE, Action.UPDATE),
                                 (Kind.STACK_INSTANCE, Action.DELETE),
                                 (Kind.STACK_SET, Action.DELETE)):
                batch = [c for c in changes if c.kind is kind and c.action is action]
                if batch:
                    steps.append((self._handlers[(kind, action)].__get__(self), batch))
            for handler, batch in steps:
                detail = handler(batch)
                done += [(change, detail) for change in batch]
        except AwsError as exc:
            return done, exc
        except (BotoCoreError, ResponseParserError) as exc:
            return done, AwsError(f"stack set {_stack_set_name(changes[0])}: {exc}")
        except ClientError as exc:
            error = exc.response.get("Error", {})
            return done, AwsError(f"stack set {_stack_set_name(changes[0])}: "
                                  f"{error.get('Code')}: {error.get('Message')}")
        return done, None

    # -- handlers ---------------------------------------------------------------------------
    def _create_set(self, batch: list[Change]) -> str:
        after = batch[0].after
        assert after
        self.cfn.create_stack_set(
            **_definition(after),
            PermissionModel="SELF_MANAGED",
            Tags=[{"Key": "ManagedBy", "Value": "orgkit"}],
        )
        return "created"

    def _update_set(self, batch: list[Change]) -> str:
        change = batch[0]
        after = change.after
        assert after
        operation = self._call(
            change, "update_stack_set", **_definition(after),
            OperationPreferences=after["operation_preferences"],
        )
        self._wait(change, after["name"], operation)
        return f"updated (operation {operation})"

    def _delete_set(self, batch: list[Change]) -> str:
        before = batch[0].before
        assert before
        self.cfn.delete_stack_set(StackSetName=before["name"])
        return "deleted"

    def _create_instances(self, batch: list[Change]) -> str:
        return self._instances(batch, "create_stack_instances")

    def _update_instances(self, batch: list[Change]) -> str:
        return self._instances(batch, "update_stack_instances")

    def _instances(self, batch: list[Change], method: str) -> str:
        """One operation per distinct (overrides, regions), accounts batched."""
        per_account: dict[str, dict[str, Any]] = {}
        for change in batch:
            after = change.after
            assert after
            account_id = self.account_id_of(after)
            entry = per_account.setdefault(account_id, {
                "regions": set(), "overrides": after["overrides"], "change": change})
            entry["regions"].add(after["region"])
        operations: dict[tuple[Any, ...], list[str]] = {}
        for account_id, entry in per_account.items():
            key = (tuple(sorted(entry["overrides"].items())), tuple(sorted(entry["regions"])))
            operations.setdefault(key, []).append(account_id)
        first = batch[0]
        assert first.after
        name = first.after["stack_set"]
        ids = []
        for (overrides, regions), accounts in operations.items():
            operation = self._call(
                first, method,
                StackSetName=name,
                Accounts=sorted(accounts),
                Regions=list(regions),
                ParameterOverrides=_parameters(dict(overrides)),
                OperationPreferences=first.after["operation_preferences"],
            )
            self._wait(first, name, operation)
            ids.append(operation)
        return f"{len(batch)} instance(s) in {len(ids)} operation(s)"

    def _delete_instances(self, batch: list[Change]) -> str:
        regions_by_account: dict[str, set[str]] = {}
        for change in batch:
            before = change.before
            assert before
            regions_by_account.setdefault(before["account_id"], set()).add(before["region"])
        operations: dict[tuple[str, ...], list[str]] = {}
        for account_id, regions in regions_by_account.items():
            operations.setdefault(tuple(sorted(regions)), []).append(account_id)
        first = batch[0]
        assert first.before
        name = first.before["stack_set"]
        for region_list, accounts in operations.items():
            operation = self._call(first, "delete_stack_instances", StackSetName=name,
                                   Accounts=sorted(accounts), Regions=list(region_list),
                                   RetainStacks=False)
            self._wait(first, name, operation)
        return "deleted"

    _handlers = {
        (Kind.STACK_SET, Action.CREATE): _create_set,
        (Kind.STACK_SET, Action.UPDATE): _update_set,
        (Kind.STACK_SET, Action.DELETE): _delete_set,
        (Kind.STACK_INSTANCE, Action.CREATE): _create_instances,
        (Kind.STACK_INSTANCE, Action.UPDATE): _update_instances,
        (Kind.STACK_INSTANCE, Action.DELETE): _delete_instances,
    }

    # -- operations -------------------------------------------------------------------------
    def _call(self, change: Change, method: str, **kwargs: Any) -> str:
        """Start an operation; wait while another operation of the stack set runs."""
        kwargs["OperationId"] = str(uuid.uuid4())  # idempotent if the call is retried
        delay = self.poll.first_delay
        deadline = self.clock() + self.poll.timeout
        while True:
            try:
                return str(getattr(self.cfn, method)(**kwargs)["OperationId"])
            except ClientError as exc:
                if (exc.response["Error"]["Code"] != "OperationInProgressException"
                        or self.clock() >= deadline):
                    raise
                self.progress(change, "another operation of this stack set is running; waiting")
                self.sleep(delay)
                delay = min(delay * 2, self.poll.max_delay)

    def _wait(self, change: Change, name: str, operation_id: str) -> None:
        delay = self.poll.first_delay
        deadline = self.clock() + self.poll.timeout
        while True:
            operation = self.cfn.describe_stack_set_operation(
                StackSetName=name, OperationId=operation_id)["StackSetOperation"]
            status = operation["Status"]
            if status == "SUCCEEDED":
                return
            if status in TERMINAL_FAILURES:
                raise AwsError(
                    f"stack set {name}: operation {operation_id} {status}"
                    + "".join(f"\n  {line}" for line in self._failures(name, operation_id)),
                    hint="Fix the cause, then run apply again: it retries what is missing.",
                )
            if self.clock() >= deadline:
                raise AwsError(f"stack set {name}: operation {operation_id} still {status} "
                               f"after {self.poll.timeout:.0f}s",
                               hint="It goes on in AWS; run `orgkit plan` later.")
            self.progress(change, f"operation {operation_id[:8]}: {status}")
            self.sleep(delay)
            delay = min(delay * 2, self.poll.max_delay)

    def _failures(self, name: str, operation_id: str) -> list[str]:
        pages = self.cfn.get_paginator("list_stack_set_operation_results").paginate(
            StackSetName=name, OperationId=operation_id)
        return [
            f"{r['Account']} {r['Region']}: {r['Status']}: {r.get('StatusReason', '')}"
            for page in pages for r in page.get("Summaries", [])
            if r.get("Status") not in ("SUCCEEDED", "PENDING", "RUNNING")
        ]


def _definition(after: dict[str, Any]) -> dict[str, Any]:
    """What CreateStackSet and UpdateStackSet both take from a stack_set change."""
    definition = {
        "StackSetName": after["name"],
        "TemplateBody": after["template_body"],
        "Parameters": _parameters(after["parameters"]),
        "Capabilities": after["capabilities"],
        "AdministrationRoleARN": after["administration_role_arn"],
        "ExecutionRoleName": after["execution_role_name"],
    }
    if after["description"]:  # CloudFormation rejects an empty Description
        definition["Description"] = after["description"]
    return definition


def _stack_set_name(change: Change) -> str:
    """The stack set a stack_set or stack_instance change belongs to."""
    side = change.after or change.before or {}
    return str(side.get("stack_set") or side.get("name"))


def _parameters(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in sorted(values.items())]
