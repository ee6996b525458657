"""``stack_set``: self-managed CloudFormation stack sets, read and written in
``organization.home_region``; also the operations engine both stack set kinds apply through.

Instance changes are batched into as few operations as StackSets allows: one per distinct set
of parameter overrides (in practice one per environment), each waited for with backoff. Stack
sets run in parallel, one operation per stack set at a time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from dataclasses import replace
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from orgkit.changes import Action, Change, Side, address
from orgkit.config.stacksets import (
    OrgIds,
    operation_preferences,
    resolve_targets,
    stack_set_parameters,
    template_diff,
)
from orgkit.errors import AwsError
from orgkit.kinds.base import (
    STACK_POLL,
    ApplyContext,
    ApplyFailure,
    BatchHandler,
    PlanContext,
    PlanPart,
    Poll,
    ReadContext,
    ResourceKind,
    SideModels,
)
from orgkit.live.model import LiveOrg, LiveStackInstance, LiveStackSet
from orgkit.live.reader import parallel
from orgkit.live.session import AwsContext, aws_error, error_code
from orgkit.names import MANAGED_BY, aws_tags
from orgkit.render.templates import stateful_losses

STACK_SET = "stack_set"
STACK_INSTANCE = "stack_instance"  # the instance kind's name (orgkit.kinds.stack_instance)
STACK_SETS_ORDER = 80  # both kinds: each stack set's changes together, the set first
TERMINAL_FAILURES = {"FAILED", "STOPPED"}
NOT_FOUND = ("StackSetNotFoundException", "StackSetNotFound")
PARALLEL_STACK_SETS = 4
DRIFT_POLL = Poll(first_delay=2.0, max_delay=30.0, timeout=3600.0)
MAX_WORKERS = 8  # stack sets read at once
INSTANCE_WORKERS = 8  # DescribeStackInstance calls at once, per stack set


class StackSetDefinition(Side):
    """A stack set as org.yaml and its rendered template define it."""

    name: str
    description: str
    template_file: str
    template_body: str
    parameters: dict[str, str]
    capabilities: list[str]
    administration_role_arn: str
    execution_role_name: str
    operation_preferences: dict[str, Any]


class LiveStackSetState(Side):
    """A live stack set as the plan saw it, and which parts of it differ."""

    description: str
    template_body: str
    parameters: dict[str, str]
    capabilities: list[str]
    administration_role_arn: str
    execution_role_name: str
    differs: list[str]


class StackSetRef(Side):
    """A stack set to delete (after its instances)."""

    name: str


# -- read -----------------------------------------------------------------------------------
def read_stack_sets(
    aws: AwsContext,
    names: Iterable[str],
    region: str,
    accounts: Collection[str] | None = None,
) -> list[LiveStackSet]:
    """The declared stack sets in ``region`` that exist (deleted ones count as absent), with
    their instances: DescribeStackSet and ListStackInstances per stack set, then
    DescribeStackInstance per instance for its overrides, stack sets and instances in parallel.
    With ``accounts`` (``--target``), only the instances in those account ids."""
    cfn = aws.client("cloudformation", region)

    def one(name: str) -> LiveStackSet | None:
        try:
            stack_set = cfn.describe_stack_set(StackSetName=name)["StackSet"]
        except ClientError as exc:
            if error_code(exc) in NOT_FOUND:
                return None
            raise
        if stack_set.get("Status") == "DELETED":
            return None
        summaries = [
            s
            for page in cfn.get_paginator("list_stack_instances").paginate(StackSetName=name)
            for s in page.get("Summaries", [])
            if accounts is None or s["Account"] in accounts
        ]
        return LiveStackSet(
            name=name,
            status=stack_set.get("Status", "ACTIVE"),
            description=stack_set.get("Description", "") or "",
            template_body=stack_set.get("TemplateBody", ""),
            parameters=_pairs(stack_set.get("Parameters", [])),
            capabilities=tuple(sorted(stack_set.get("Capabilities", []))),
            administration_role_arn=stack_set.get("AdministrationRoleARN", "") or "",
            execution_role_name=stack_set.get("ExecutionRoleName", "") or "",
            instances=tuple(
                parallel(lambda s: _instance(cfn, name, s), summaries, INSTANCE_WORKERS)
            ),
        )

    try:
        found = parallel(one, list(names), MAX_WORKERS)
    except (ClientError, BotoCoreError) as exc:
        raise aws_error("reading the stack sets", exc) from exc
    return [s for s in found if s is not None]


def _instance(cfn: Any, name: str, summary: dict[str, Any]) -> LiveStackInstance:
    detail = cfn.describe_stack_instance(
        StackSetName=name,
        StackInstanceAccount=summary["Account"],
        StackInstanceRegion=summary["Region"],
    )["StackInstance"]
    return LiveStackInstance(
        account_id=summary["Account"],
        region=summary["Region"],
        status=summary.get("Status", ""),
        status_reason=summary.get("StatusReason", "") or "",
        detailed_status=(summary.get("StackInstanceStatus") or {}).get("DetailedStatus", ""),
        overrides=_pairs(detail.get("ParameterOverrides", [])),
        drift_status=summary.get("DriftStatus") or "NOT_CHECKED",
    )


def _pairs(parameters: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((p["ParameterKey"], str(p.get("ParameterValue", ""))) for p in parameters))


def detect_drift(
    aws: AwsContext,
    names: Iterable[str],
    region: str,
    progress: Callable[[str], None] = lambda message: None,
    sleep: Callable[[float], None] = time.sleep,
    poll: Poll = DRIFT_POLL,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run CloudFormation drift detection on each stack set and wait for it to finish.

    Changes no resource: afterwards each stack instance carries its DriftStatus, which the
    next read reports. Stack sets that do not exist are skipped.
    """
    cfn = aws.client("cloudformation", region)
    for name in names:
        try:
            operation = cfn.detect_stack_set_drift(StackSetName=name)["OperationId"]
        except ClientError as exc:
            if error_code(exc) in NOT_FOUND:
                continue
            raise aws_error(f"starting drift detection of stack set {name}", exc) from exc
        waits = poll.delays(clock)
        started = clock()
        while True:
            status = cfn.describe_stack_set_operation(StackSetName=name, OperationId=operation)[
                "StackSetOperation"
            ]["Status"]
            if status == "SUCCEEDED":
                break
            if status in TERMINAL_FAILURES:
                raise AwsError(
                    f"drift detection of stack set {name} {status}",
                    hint="See the operation in the CloudFormation console.",
                )
            delay = next(waits, None)
            if delay is None:
                raise AwsError(f"drift detection of stack set {name} still {status}")
            progress(
                f"{name}: drift detection {status.lower()}, still waiting "
                f"({clock() - started:.0f} s)"
            )
            sleep(delay)


# -- apply: the operations engine of both stack set kinds --------------------------------------
def stack_set_of(change: Change) -> str:
    """The stack set a stack_set or stack_instance change belongs to."""
    side = change.after or change.before
    return str(getattr(side, "stack_set", None) or getattr(side, "name", None))


class StackSetApplier:
    """Carries out the changes of one or more stack sets."""

    def __init__(
        self,
        cfn: Any,
        account_id_of: Callable[[Any], str],
        progress: Callable[[Change, str], None],
        sleep: Callable[[float], None] = time.sleep,
        poll: Poll = STACK_POLL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfn = cfn
        self.account_id_of = account_id_of  # an instance's ``after`` -> its account id
        self.progress = progress
        self.sleep = sleep
        self.poll = poll
        self.clock = clock
        # Within a stack set: the set first, then its instances; deleting the set last.
        self.steps: list[tuple[str, Action, Callable[[list[Change]], str]]] = [
            (STACK_SET, Action.CREATE, self._create_set),
            (STACK_SET, Action.UPDATE, self._update_set),
            (STACK_INSTANCE, Action.CREATE, self._create_instances),
            (STACK_INSTANCE, Action.UPDATE, self._update_instances),
            (STACK_INSTANCE, Action.DELETE, self._delete_instances),
            (STACK_SET, Action.DELETE, self._delete_set),
        ]

    def run(self, changes: list[Change]) -> tuple[list[tuple[Change, str]], list[AwsError]]:
        """Apply every change, grouped by stack set; stack sets run in parallel."""
        groups: dict[str, list[Change]] = {}
        for change in changes:
            groups.setdefault(stack_set_of(change), []).append(change)
        done: list[tuple[Change, str]] = []
        errors: list[AwsError] = []
        for group_done, error in parallel(
            self._one_stack_set, list(groups.values()), PARALLEL_STACK_SETS
        ):
            done += group_done
            if error is not None:
                errors.append(error)
        return done, errors

    def _one_stack_set(
        self, changes: list[Change]
    ) -> tuple[list[tuple[Change, str]], AwsError | None]:
        done: list[tuple[Change, str]] = []
        name = stack_set_of(changes[0])
        try:
            for kind, action, step in self.steps:
                batch = [c for c in changes if c.kind == kind and c.action is action]
                if batch:
                    detail = step(batch)
                    done += [(change, detail) for change in batch]
        except AwsError as exc:
            return done, exc
        except (ClientError, BotoCoreError, ResponseParserError) as exc:
            return done, aws_error(f"stack set {name}", exc)
        return done, None

    def _create_set(self, batch: list[Change]) -> str:
        self.cfn.create_stack_set(
            **_definition(batch[0].new(StackSetDefinition)),
            PermissionModel="SELF_MANAGED",
            Tags=aws_tags({MANAGED_BY[0]: MANAGED_BY[1]}),
        )
        return "created"

    def _update_set(self, batch: list[Change]) -> str:
        change = batch[0]
        after = change.new(StackSetDefinition)
        operation = self._call(
            change,
            "update_stack_set",
            **_definition(after),
            OperationPreferences=after.operation_preferences,
        )
        self._wait(change, after.name, operation)
        return f"updated (operation {operation})"

    def _delete_set(self, batch: list[Change]) -> str:
        self.cfn.delete_stack_set(StackSetName=batch[0].old(StackSetRef).name)
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
            account_id = self.account_id_of(after)
            entry = per_account.setdefault(
                account_id, {"regions": set(), "overrides": getattr(after, "overrides", {})}
            )
            entry["regions"].add(getattr(after, "region", ""))
        operations: dict[tuple[Any, ...], list[str]] = {}
        for account_id, entry in per_account.items():
            key = (tuple(sorted(entry["overrides"].items())), tuple(sorted(entry["regions"])))
            operations.setdefault(key, []).append(account_id)
        first = batch[0]
        name = stack_set_of(first)
        preferences = getattr(first.after, "operation_preferences", {})
        ids = []
        for (overrides, regions), accounts in operations.items():
            operation = self._call(
                first,
                method,
                StackSetName=name,
                Accounts=sorted(accounts),
                Regions=list(regions),
                ParameterOverrides=_parameters(dict(overrides)),
                OperationPreferences=preferences,
            )
            self._wait(first, name, operation)
            ids.append(operation)
        return f"one of {len(batch)} instance(s) done in {len(ids)} operation(s)"

    def _delete_instances(self, batch: list[Change]) -> str:
        regions_by_account: dict[str, set[str]] = {}
        for change in batch:
            before = change.before
            regions_by_account.setdefault(str(getattr(before, "account_id", "")), set()).add(
                str(getattr(before, "region", ""))
            )
        operations: dict[tuple[str, ...], list[str]] = {}
        for account_id, regions in regions_by_account.items():
            operations.setdefault(tuple(sorted(regions)), []).append(account_id)
        first = batch[0]
        name = stack_set_of(first)
        for region_list, accounts in operations.items():
            operation = self._call(
                first,
                "delete_stack_instances",
                StackSetName=name,
                Accounts=sorted(accounts),
                Regions=list(region_list),
                RetainStacks=False,
            )
            self._wait(first, name, operation)
        return "deleted"

    def _call(self, change: Change, method: str, **kwargs: Any) -> str:
        """Start an operation; wait while another operation of the stack set runs."""
        kwargs["OperationId"] = str(uuid.uuid4())  # idempotent if the call is retried
        waits = self.poll.delays(self.clock)
        while True:
            try:
                return str(getattr(self.cfn, method)(**kwargs)["OperationId"])
            except ClientError as exc:
                if error_code(exc) != "OperationInProgressException":
                    raise
                delay = next(waits, None)
                if delay is None:
                    raise
                self.progress(change, "another operation of this stack set is running; waiting")
                self.sleep(delay)

    def _wait(self, change: Change, name: str, operation_id: str) -> None:
        waits = self.poll.delays(self.clock)
        started = self.clock()
        while True:
            operation = self.cfn.describe_stack_set_operation(
                StackSetName=name, OperationId=operation_id
            )["StackSetOperation"]
            status = operation["Status"]
            if status == "SUCCEEDED":
                return
            if status in TERMINAL_FAILURES:
                raise AwsError(
                    f"stack set {name}: operation {operation_id} {status}"
                    + "".join(f"\n  {line}" for line in self._failures(name, operation_id)),
                    hint="Fix the cause, then run apply again: it retries what is missing.",
                )
            delay = next(waits, None)
            if delay is None:
                raise AwsError(
                    f"stack set {name}: operation {operation_id} still {status} "
                    f"after {self.poll.timeout:.0f}s",
                    hint="It goes on in AWS; run `orgkit plan` later.",
                )
            self.progress(
                change,
                f"operation {operation_id[:8]}: {status}, still waiting "
                f"({self.clock() - started:.0f} s)",
            )
            self.sleep(delay)

    def _failures(self, name: str, operation_id: str) -> list[str]:
        pages = self.cfn.get_paginator("list_stack_set_operation_results").paginate(
            StackSetName=name, OperationId=operation_id
        )
        return [
            f"{r['Account']} {r['Region']}: {r['Status']}: {r.get('StatusReason', '')}"
            for page in pages
            for r in page.get("Summaries", [])
            if r.get("Status") not in ("SUCCEEDED", "PENDING", "RUNNING")
        ]


def _definition(after: StackSetDefinition) -> dict[str, Any]:
    """What CreateStackSet and UpdateStackSet both take from a stack_set change."""
    definition: dict[str, Any] = {
        "StackSetName": after.name,
        "TemplateBody": after.template_body,
        "Parameters": _parameters(after.parameters),
        "Capabilities": after.capabilities,
        "AdministrationRoleARN": after.administration_role_arn,
        "ExecutionRoleName": after.execution_role_name,
    }
    if after.description:  # CloudFormation rejects an empty Description
        definition["Description"] = after.description
    return definition


def _parameters(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in sorted(values.items())]


def apply_stack_changes(ctx: ApplyContext, changes: list[Change]) -> list[tuple[Change, str]]:
    """The batch handler of both stack set kinds: a run of their changes, in the home
    region, stack sets in parallel."""
    applier = StackSetApplier(
        ctx.aws.client("cloudformation", ctx.home_region),
        lambda after: ctx.ids.account(after.account_email, after.account_id)[0],
        ctx.reporter.progress,
        sleep=ctx.sleep,
        poll=ctx.stack_poll,
        clock=ctx.clock,
    )
    done, errors = applier.run(changes)
    if errors:
        raise ApplyFailure(
            done, AwsError("\n".join(e.message for e in errors), hint=errors[0].hint)
        )
    return done


# -- plan -------------------------------------------------------------------------------------
def org_ids(live: LiveOrg) -> OrgIds:
    """The ids parameter placeholders name."""
    return OrgIds(live.organization_id, live.management_account_id)


def definition(ctx: PlanContext, index: int) -> StackSetDefinition:
    """What the ``index``-th declared stack set should be."""
    spec = ctx.spec
    stack_set = spec.stack_sets[index]
    roles = spec.stackset_roles
    if roles is None:  # validated: stack sets need the role pair
        raise AssertionError("stack sets without stackset_roles")
    template = ctx.config.templates[stack_set.name]
    targets = resolve_targets(spec, stack_set)
    return StackSetDefinition(
        name=stack_set.name,
        description=stack_set.description,
        template_file=template.file,
        template_body=template.body,
        parameters=stack_set_parameters(
            stack_set,
            template.parameters,
            targets,
            org_ids(ctx.live),
            alert_email=spec.alerts.email if spec.alerts else None,
        ),
        capabilities=sorted(stack_set.capabilities),
        administration_role_arn=(
            f"arn:aws:iam::{ctx.live.management_account_id}:role/{roles.administration_role}"
        ),
        execution_role_name=roles.execution_role,
        operation_preferences=operation_preferences(stack_set),
    )


def _differences(live_set: LiveStackSet, after: StackSetDefinition) -> list[str]:
    differs = []
    if live_set.template_body.strip() != after.template_body.strip():
        differs.append("template")
    if dict(live_set.parameters) != after.parameters:
        differs.append("parameters")
    if sorted(live_set.capabilities) != after.capabilities:
        differs.append("capabilities")
    if live_set.description != after.description:
        differs.append("description")
    if (
        live_set.administration_role_arn != after.administration_role_arn
        or live_set.execution_role_name != after.execution_role_name
    ):
        differs.append("roles")
    return differs


def stack_set_index(ctx: PlanContext, name: str) -> int:
    """Where a stack set is declared (its changes sort by it)."""
    names = [s.name for s in ctx.spec.stack_sets]
    return names.index(name) if name in names else len(names)


class StackSetOperations(ResourceKind):
    """What both stack set kinds share: their changes run together through one
    :class:`StackSetApplier` (one operation per stack set at a time)."""

    def batch_key(self, change: Change) -> Hashable | None:
        return STACK_SETS_ORDER

    @property
    def handlers(self) -> Mapping[Action, BatchHandler]:
        return dict.fromkeys(Action, apply_stack_changes)


class StackSetKind(StackSetOperations):
    """Stack sets org.yaml declares: created, updated when their template, parameters,
    capabilities, description or roles differ, deleted (after their instances) with
    ``--allow-destroy``. Stack sets org.yaml does not name are not read."""

    kind = STACK_SET
    heading = "Stack sets"
    order = STACK_SETS_ORDER
    needs = frozenset()
    provides = frozenset({"stack_sets"})
    destroy_rank = 1
    destroy_flag = "allow_destroy"
    belongs_to = "stack_set"
    models: ClassVar[Mapping[Action, SideModels]] = {
        Action.CREATE: (None, StackSetDefinition),
        Action.UPDATE: (LiveStackSetState, StackSetDefinition),
        Action.DELETE: (StackSetRef, None),
    }

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """The declared stack sets and their instances, in the home region (with ``--target``,
        the instances in the targeted accounts)."""
        spec = ctx.config.spec
        names = [s.name for s in spec.stack_sets]
        accounts = ctx.targeted_ids(live) if names else None
        found = read_stack_sets(ctx.aws, names, spec.organization.home_region, accounts)
        return replace(live, stack_sets=tuple(found))

    def plan(self, ctx: PlanContext) -> PlanPart:
        part = PlanPart()
        for index, stack_set in enumerate(ctx.spec.stack_sets):
            live_set = ctx.live.stack_set_by_name.get(stack_set.name)
            addr = address(self.kind, stack_set.name)
            if stack_set.state == "absent":
                if live_set is not None:
                    part.changes.append(
                        Change(
                            addr, self.kind, Action.DELETE, StackSetRef(name=stack_set.name), None
                        )
                    )
                continue
            after = definition(ctx, index)
            if live_set is None:
                part.changes.append(Change(addr, self.kind, Action.CREATE, None, after))
                continue
            differs = _differences(live_set, after)
            if differs:
                before = LiveStackSetState(
                    description=live_set.description,
                    template_body=live_set.template_body,
                    parameters=dict(live_set.parameters),
                    capabilities=list(live_set.capabilities),
                    administration_role_arn=live_set.administration_role_arn,
                    execution_role_name=live_set.execution_role_name,
                    differs=differs,
                )
                part.changes.append(Change(addr, self.kind, Action.UPDATE, before, after))
        return part

    def sort_key(self, change: Change, ctx: PlanContext) -> tuple[Any, ...]:
        return (self.order, stack_set_index(ctx, stack_set_of(change)), 0)

    def is_destructive(self, change: Change) -> bool:
        """A delete, and a template change that deletes or replaces a resource holding data
        (a table, bucket, key, log group...) in every instance."""
        if change.action is Action.DELETE:
            return True
        return change.action is Action.UPDATE and bool(_losses(change))

    def describe(self, change: Change) -> list[str]:
        if change.action is Action.CREATE:
            after = change.new(StackSetDefinition)
            params = ", ".join(f"{k}={v}" for k, v in after.parameters.items())
            return [f"from {after.template_file}; parameters: {params or 'none'}"]
        if change.action is Action.DELETE:
            return ["delete the stack set (its instances are deleted first)"]
        before, after = change.old(LiveStackSetState), change.new(StackSetDefinition)
        lines = [f"data loss: {loss}" for loss in _losses(change)]
        for part in before.differs:
            if part == "template":
                lines.append("template:")
                lines += template_diff(before.template_body, after.template_body)
            elif part == "parameters":
                keys = sorted(set(before.parameters) | set(after.parameters))
                lines += [
                    f"parameter {k}: {before.parameters.get(k)!r} -> {after.parameters.get(k)!r}"
                    for k in keys
                    if before.parameters.get(k) != after.parameters.get(k)
                ]
            elif part == "roles":
                for field in ("administration_role_arn", "execution_role_name"):
                    old, new = getattr(before, field), getattr(after, field)
                    if old != new:
                        lines.append(f"{field}: {old} -> {new}")
            elif part == "capabilities":
                lines.append(
                    f"capabilities: {', '.join(before.capabilities) or 'none'} -> "
                    f"{', '.join(after.capabilities) or 'none'}"
                )
            else:
                lines.append(f"{part}: {getattr(before, part)!r} -> {getattr(after, part)!r}")
        return lines


def _losses(change: Change) -> list[str]:
    if change.action is not Action.UPDATE or not isinstance(change.before, LiveStackSetState):
        return []
    if "template" not in change.before.differs:
        return []
    return stateful_losses(
        change.before.template_body, change.new(StackSetDefinition).template_body
    )


KIND = StackSetKind()
