"""Read the stack sets org.yaml declares, with their instances, from the management account.

Calls: one DescribeStackSet and one (paged) ListStackInstances per declared stack set, then one
DescribeStackInstance per instance for its parameter overrides, in parallel. Stack sets that
org.yaml does not name are not read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from orgkit.errors import AwsError
from orgkit.live.model import LiveStackInstance, LiveStackSet
from orgkit.live.session import AwsContext

MAX_WORKERS = 8


def read_stack_sets(aws: AwsContext, names: Iterable[str], region: str) -> list[LiveStackSet]:
    """The declared stack sets in ``region`` that exist (deleted ones count as absent)."""
    cfn = aws.client("cloudformation", region)

    def one(name: str) -> LiveStackSet | None:
        try:
            stack_set = cfn.describe_stack_set(StackSetName=name)["StackSet"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("StackSetNotFoundException",
                                                 "StackSetNotFound"):
                return None
            raise
        if stack_set.get("Status") == "DELETED":
            return None
        summaries = [
            s for page in cfn.get_paginator("list_stack_instances").paginate(StackSetName=name)
            for s in page.get("Summaries", [])
        ]
        instances = [_instance(cfn, name, s) for s in summaries]
        return LiveStackSet(
            name=name,
            status=stack_set.get("Status", "ACTIVE"),
            description=stack_set.get("Description", "") or "",
            template_body=stack_set.get("TemplateBody", ""),
            parameters=_pairs(stack_set.get("Parameters", [])),
            capabilities=tuple(sorted(stack_set.get("Capabilities", []))),
            administration_role_arn=stack_set.get("AdministrationRoleARN", "") or "",
            execution_role_name=stack_set.get("ExecutionRoleName", "") or "",
            instances=tuple(instances),
        )

    with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
        try:
            found = list(pool.map(one, names))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise AwsError(f"cannot read stack sets: {error.get('Code')}: "
                           f"{error.get('Message')}") from exc
    return [s for s in found if s is not None]


def _instance(cfn: Any, name: str, summary: dict[str, Any]) -> LiveStackInstance:
    detail = cfn.describe_stack_instance(
        StackSetName=name, StackInstanceAccount=summary["Account"],
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
    return tuple(sorted((p["ParameterKey"], str(p.get("ParameterValue", "")))
                        for p in parameters))


def detect_drift(
    aws: AwsContext, names: Iterable[str], region: str,
    progress: Callable[[str], None] = lambda message: None,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = 3600.0,
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
            if exc.response["Error"]["Code"] in ("StackSetNotFoundException",
                                                 "StackSetNotFound"):
                continue
            error = exc.response.get("Error", {})
            raise AwsError(f"cannot start drift detection of stack set {name}: "
                           f"{error.get('Code')}: {error.get('Message')}") from exc
        delay, waited = 2.0, 0.0
        while True:
            status = cfn.describe_stack_set_operation(
                StackSetName=name, OperationId=operation)["StackSetOperation"]["Status"]
            if status == "SUCCEEDED":
                break
            if status in ("FAILED", "STOPPED"):
                raise AwsError(f"drift detection of stack set {name} {status}",
                               hint="See the operation in the CloudFormation console.")
            if waited >= timeout:
                raise AwsError(f"drift detection of stack set {name} still {status}")
            progress(f"{name}: drift detection {status.lower()}")
            sleep(delay)
            waited += delay
            delay = min(delay * 2, 30.0)
