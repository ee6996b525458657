"""The pre-production checklist's reads: one small function per item, over live AWS.

Each check reads, through the clients it is given (the management account's, or a member
account's through its access role), only what its item needs, and returns a
:class:`CheckResult` with the evidence it saw. A read AWS refuses (access denied, a call the
endpoint does not implement) makes the item ``cannot-check`` with the reason, never a pass.
No check reads a secret's value: secrets are judged by their versions (ListSecretVersionIds).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.live.model import LiveBudget
from orgkit.live.session import error_code

Status = Literal["pass", "fail", "cannot-check"]
PASSED: Status = "pass"
FAILED: Status = "fail"
CANNOT: Status = "cannot-check"


@dataclass(frozen=True)
class CheckResult:
    """One checklist item in one environment: pass, fail or cannot-check, and why."""

    item: str  # stable id, e.g. "stripe-keys"
    title: str  # the seed checklist's words
    environment: str
    status: Status
    evidence: tuple[str, ...]
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form of one item."""
        return {
            "item": self.item,
            "title": self.title,
            "environment": self.environment,
            "status": self.status,
            "evidence": list(self.evidence),
            "fix": self.fix,
        }


@dataclass(frozen=True)
class CheckReport:
    """Every checklist item of every environment checked, and where the answers came from."""

    project: str
    endpoint: str
    results: tuple[CheckResult, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> bool:
        """True when an item failed (cannot-check is not a failure)."""
        return any(r.status == FAILED for r in self.results)

    def summary(self) -> dict[str, int]:
        """How many items pass, fail, or cannot be checked."""
        return {
            status: sum(1 for r in self.results if r.status == status)
            for status in (PASSED, FAILED, CANNOT)
        }

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document."""
        return {
            "project": self.project,
            "endpoint": self.endpoint,
            "passed": not self.failed,
            "summary": self.summary(),
            "items": [r.to_dict() for r in self.results],
        }


@dataclass(frozen=True)
class SecretRef:
    """A platform secret by its output name and ARN (never its value)."""

    output: str
    arn: str


@dataclass(frozen=True)
class CheckTarget:
    """One environment of a project, as live: its account and the platform's outputs."""

    environment: str
    account_id: str
    region: str
    outputs: dict[str, str] = field(default_factory=dict)


def guarded(
    item: str, title: str, environment: str, check: Callable[[], CheckResult]
) -> CheckResult:
    """Run one check; an AWS refusal makes it cannot-check, with AWS's code as the evidence."""
    try:
        return check()
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        operation = getattr(exc, "operation_name", "the read")
        return CheckResult(
            item,
            title,
            environment,
            CANNOT,
            (f"{operation} was refused: {error_code(exc)} {message}".strip(),),
            "Run the check with credentials that may read this (the management account's, "
            "assuming the access role).",
        )
    except BotoCoreError as exc:
        return CheckResult(item, title, environment, CANNOT, (f"the read failed: {exc}",))


def budget_alerts(
    environment: str, account_id: str, budget_name: str, budgets: Sequence[LiveBudget]
) -> CheckResult:
    """orgkit's monthly budget for the account exists and alerts someone."""
    item, title = "budget-alerts", "Budget alerts configured"
    budget = next((b for b in budgets if b.name == budget_name), None)
    if budget is None:
        return CheckResult(
            item,
            title,
            environment,
            FAILED,
            (f"no budget {budget_name} for account {account_id} in the management account",),
            "Declare `budgets:` in org.yaml and run `orgkit apply`.",
        )
    alerts = [
        f"{n.type} {n.threshold:g}% to {', '.join(a for _, a in n.subscribers) or 'nobody'}"
        for n in budget.notifications
    ]
    alerting = [n for n in budget.notifications if n.subscribers]
    evidence = (
        f"budget {budget.name}: {budget.amount:g} {budget.currency} {budget.time_unit.lower()}",
        *(f"alert {a}" for a in alerts),
    )
    if not alerting:
        return CheckResult(
            item,
            title,
            environment,
            FAILED,
            (*evidence, "no alert has a subscriber"),
            "Add `budgets.notifications` and `budgets.emails` in org.yaml, then apply.",
        )
    return CheckResult(item, title, environment, PASSED, evidence)


def monitoring(environment: str, cloudwatch: Any, dashboard: str, alarm_prefix: str) -> CheckResult:
    """The platform's dashboard exists, and its alarms exist and notify someone."""
    item, title = "monitoring", "Monitoring dashboards and alarms created"
    dashboards = [
        d["DashboardName"]
        for page in cloudwatch.get_paginator("list_dashboards").paginate(
            DashboardNamePrefix=dashboard
        )
        for d in page.get("DashboardEntries", [])
        if d["DashboardName"] == dashboard
    ]
    alarms = [
        a
        for page in cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=alarm_prefix
        )
        for a in page.get("MetricAlarms", [])
    ]
    silent = sorted(a["AlarmName"] for a in alarms if not a.get("AlarmActions"))
    evidence = [
        f"dashboard {dashboard}: " + ("present" if dashboards else "missing"),
        f"{len(alarms)} alarms named {alarm_prefix}*"
        + (f"; without an action: {', '.join(silent)}" if silent else ", each with an action"),
    ]
    ok = bool(dashboards) and bool(alarms) and not silent
    return CheckResult(
        item,
        title,
        environment,
        PASSED if ok else FAILED,
        tuple(evidence),
        "" if ok else "Check the platform stack instance in this account (`orgkit drift`).",
    )


def backups(
    environment: str,
    dynamodb: Any,
    organizations: Any,
    account_id: str,
    tables: Iterable[str],
    policy_required: bool,
) -> CheckResult:
    """Point-in-time recovery on every platform table, and a backup policy reaching the
    account (required in prod). A restore test is not something AWS records."""
    item, title = "backups", "Backups of the tables (PITR, backup policy)"
    evidence: list[str] = []
    off = []
    for table in sorted(tables):
        status = dynamodb.describe_continuous_backups(TableName=table)[
            "ContinuousBackupsDescription"
        ]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
        evidence.append(f"table {table}: point-in-time recovery {status}")
        if status != "ENABLED":
            off.append(table)
    policies = backup_policies_reaching(organizations, account_id)
    evidence.append(
        "backup policies reaching the account: " + (", ".join(policies) if policies else "none")
    )
    evidence.append("a restore test is not recorded in AWS: test one by hand")
    fixes = []
    if off:
        fixes.append("turn point-in-time recovery on in the platform template, then apply")
    if policy_required and not policies:
        fixes.append("attach a backup policy (type: backup) to the account's OU in org.yaml")
    return CheckResult(
        item, title, environment, FAILED if fixes else PASSED, tuple(evidence), "; ".join(fixes)
    )


def backup_policies_reaching(organizations: Any, account_id: str) -> list[str]:
    """Backup policies attached to the account or any OU above it, up to the root."""
    names: list[str] = []
    target = account_id
    for _ in range(10):  # the root is at most six levels up; never loop forever
        for page in organizations.get_paginator("list_policies_for_target").paginate(
            TargetId=target, Filter="BACKUP_POLICY"
        ):
            names.extend(p["Name"] for p in page.get("Policies", []))
        parents = organizations.list_parents(ChildId=target)["Parents"]
        if not parents or parents[0]["Type"] == "ROOT":
            if parents:
                for page in organizations.get_paginator("list_policies_for_target").paginate(
                    TargetId=parents[0]["Id"], Filter="BACKUP_POLICY"
                ):
                    names.extend(p["Name"] for p in page.get("Policies", []))
            break
        target = parents[0]["Id"]
    return sorted(set(names))


def guardduty(environment: str, client: Any, account_id: str, region: str) -> CheckResult:
    """An enabled GuardDuty detector in the account and region."""
    item, title = "guardduty", "GuardDuty on"
    detectors = [
        d for page in client.get_paginator("list_detectors").paginate() for d in page["DetectorIds"]
    ]
    if not detectors:
        return CheckResult(
            item,
            title,
            environment,
            FAILED,
            (f"no GuardDuty detector in account {account_id} ({region})",),
            "Declare security.delegated_admins.guardduty in org.yaml and apply: the "
            "administrator's auto-enable creates the detector. If it is declared and applied, "
            "look in the administrator account at this account's membership (the sandbox does "
            "not emulate auto-enable: docs/sandbox.md).",
        )
    status = client.get_detector(DetectorId=detectors[0])["Status"]
    return CheckResult(
        item,
        title,
        environment,
        PASSED if status == "ENABLED" else FAILED,
        (f"detector {detectors[0]} in {region}: {status}",),
        "" if status == "ENABLED" else "Enable the detector (or its organization auto-enable).",
    )


def security_hub(environment: str, client: Any, account_id: str, region: str) -> CheckResult:
    """Security Hub enabled in the account and region."""
    item, title = "security-hub", "Security Hub on"
    try:
        hub = client.describe_hub()
    except ClientError as exc:
        if error_code(exc) in {"InvalidAccessException", "ResourceNotFoundException"}:
            return CheckResult(
                item,
                title,
                environment,
                FAILED,
                (f"Security Hub is not enabled in account {account_id} ({region})",),
                "Declare security.delegated_admins.securityhub in org.yaml and apply. If it is "
                "declared and applied, look in the administrator account at this account's "
                "membership (the sandbox does not emulate auto-enable: docs/sandbox.md).",
            )
        raise
    return CheckResult(item, title, environment, PASSED, (f"hub {hub['HubArn']}",))


def secrets_set(
    item: str, title: str, environment: str, client: Any, secrets: Sequence[SecretRef]
) -> CheckResult:
    """Each secret has a current value, judged by its versions only: the value is never read
    (no GetSecretValue), so it never reaches orgkit or its output."""
    evidence = []
    empty = []
    for secret in secrets:
        versions = _versions(client, secret.arn)
        current = [v for v in versions if "AWSCURRENT" in v.get("VersionStages", [])]
        name = _secret_name(secret.arn)
        if current:
            evidence.append(f"{name}: set (a current version exists; the value was not read)")
        else:
            evidence.append(f"{name}: empty (no version)")
            empty.append(secret)
    fix = "; ".join(
        f"aws secretsmanager put-secret-value --secret-id {s.arn} --secret-string file://VALUE"
        for s in empty
    )
    return CheckResult(item, title, environment, FAILED if empty else PASSED, tuple(evidence), fix)


def _secret_name(arn: str) -> str:
    """A secret's name from its ARN (which ends in ``-`` and six random characters)."""
    return re.sub(r"-[A-Za-z0-9]{6}$", "", arn.rsplit(":", 1)[-1])


def _versions(client: Any, arn: str) -> list[dict[str, Any]]:
    """ListSecretVersionIds, every page (boto3 has no paginator for it): ids and stages only."""
    versions: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"SecretId": arn}
    while True:
        page = client.list_secret_version_ids(**kwargs)
        versions += page.get("Versions", [])
        if not page.get("NextToken"):
            return versions
        kwargs["NextToken"] = page["NextToken"]


def certificate(environment: str, client: Any, domain: str | None, region: str) -> CheckResult:
    """An ISSUED (validated) ACM certificate covering the environment's declared domain."""
    item, title = "certificate", "SSL certificate provisioned and validated"
    if domain is None:
        return _undeclared(item, title, environment)
    found = [
        c
        for page in client.get_paginator("list_certificates").paginate()
        for c in page.get("CertificateSummaryList", [])
        if _covers(c.get("DomainName", ""), domain)
        or any(_covers(n, domain) for n in c.get("SubjectAlternativeNameSummaries", []))
    ]
    issued = [c for c in found if c.get("Status") == "ISSUED"]
    if issued:
        return CheckResult(
            item,
            title,
            environment,
            PASSED,
            (f"{issued[0]['CertificateArn']}: ISSUED for {issued[0]['DomainName']}",),
        )
    evidence = tuple(f"{c['CertificateArn']}: {c.get('Status', '?')}" for c in found) or (
        f"no ACM certificate for {domain} in {region}",
    )
    return CheckResult(
        item,
        title,
        environment,
        FAILED,
        evidence,
        f"aws acm request-certificate --domain-name {domain} --validation-method DNS "
        f"--region {region}, then add its validation record",
    )


def hosted_zone(environment: str, client: Any, domain: str | None) -> CheckResult:
    """A Route 53 hosted zone for the declared domain (or a parent of it) in the account."""
    item, title = "domain", "Custom domain configured in Route 53"
    if domain is None:
        return _undeclared(item, title, environment)
    zones = [
        z["Name"].rstrip(".")
        for page in client.get_paginator("list_hosted_zones").paginate()
        for z in page.get("HostedZones", [])
        if not z.get("Config", {}).get("PrivateZone")
    ]
    matching = [z for z in zones if domain == z or domain.endswith("." + z)]
    if matching:
        return CheckResult(
            item,
            title,
            environment,
            PASSED,
            (f"public hosted zone {max(matching, key=len)} holds {domain}",),
        )
    return CheckResult(
        item,
        title,
        environment,
        FAILED,
        (f"no public hosted zone for {domain} in this account",),
        f"create the hosted zone (aws route53 create-hosted-zone --name {domain}) and "
        "delegate the domain to its name servers",
    )


def not_in_aws(item: str, title: str, environment: str, why: str) -> CheckResult:
    """An item of the seed's checklist that AWS holds no evidence of."""
    return CheckResult(item, title, environment, CANNOT, (why,))


def _undeclared(item: str, title: str, environment: str) -> CheckResult:
    return CheckResult(
        item,
        title,
        environment,
        CANNOT,
        (f"no domain is declared for {environment}",),
        "Declare it in org.yaml: projects[].domains (e.g. prod: api.example.com).",
    )


def _covers(name: str, domain: str) -> bool:
    if name == domain:
        return True
    return name.startswith("*.") and domain.count(".") >= 1 and domain.split(".", 1)[1] == name[2:]
