"""Gaps of moto 5.2 filled in the sandbox's own moto (in this process only).

The sandbox runs moto's server in orgkit's process (``orgkit.sandbox.server``), so these patches
reach every request it serves. Each one fills a documented gap and nothing more:

* Budgets: moto stores budgets and their subscribers but implements neither ``UpdateBudget``,
  ``DescribeSubscribersForNotification`` nor ``DescribeBudgetNotificationsForAccount``; without
  them a budget could be created but never updated or compared. The added calls follow AWS's
  documented behaviour for the fields orgkit uses (limit, time unit, cost filters; subscribers of
  one notification; every budget's notifications in pages).
* Organizations: moto lets ``BACKUP_POLICY`` be enabled on the root but cannot create a policy
  of that type (``NotImplementedError``, HTTP 500 over the server); the sandbox creates it like
  the other management policy types, with a backup policy's ARN.
* CloudFormation, so that orgkit's templates (``templates/*.yaml.j2``), which are correct for real
  AWS, deploy unchanged:

  - ``AWS::KMS::Key`` ``Tags`` (``Key``/``Value``) and ``KeyPolicy`` (an object) in
    CloudFormation's shapes;
  - ``Outputs`` with both a ``Condition`` and an ``Export``;
  - ``AWS::DynamoDB::Table`` ``PointInTimeRecoverySpecification``;
  - stand-ins for ``AWS::WAFv2::WebACL``, ``AWS::GuardDuty::Detector``,
    ``AWS::CloudWatch::Alarm``, ``AWS::Backup::BackupVault``, ``AWS::SecretsManager::Secret``
    and ``AWS::SecretsManager::ResourcePolicy``, types moto's CloudFormation skips.

  moto builds the stacks of StackSet instances (``StackSet:<name>`` in each target account) with
  the same parsing code as ``CreateStack``, so these apply to stack sets as well.

* Cost Explorer: moto has no spend data; the sandbox answers GetCostAndUsage and
  GetCostForecast as AWS does for an account without Cost Explorer
  (``orgkit/sandbox/cost_gaps.py``), so nothing reads as a real zero.

None of this changes a production code path: orgkit sends the same calls and the same templates
to AWS. The patches lean on moto's internals; the sandbox is pinned to moto ``>=5.2,<5.3`` and each
patch checks what it relies on when installed, raising :class:`MotoGapError` (naming the gap)
instead of silently doing nothing when moto has changed.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from orgkit.errors import OrgkitError

MOTO_PIN = ">=5.2,<5.3"

_applied: set[str] = set()
# The stand-in classes registered with moto (kept alive here: moto finds them through
# CloudFormationModel.__subclasses__(), which holds only weak references).
_stand_ins: list[type] = []


class MotoGapError(OrgkitError):
    """moto no longer looks the way a sandbox patch expects, so the patch cannot be trusted."""

    def __init__(self, gap: str, problem: str) -> None:
        super().__init__(
            f"sandbox patch for the moto gap '{gap}' cannot be applied: {problem} "
            f"(moto {_moto_version()}; the sandbox is pinned to moto{MOTO_PIN})",
            hint="Install the pinned moto (pip install 'orgkit[sandbox]'), or re-check the "
            "patch in orgkit/sandbox/extensions.py against this moto and drop it if moto now "
            "fills the gap itself.",
        )
        self.gap = gap


def install() -> None:
    """Apply every sandbox patch to moto (idempotent; a patch already applied is skipped)."""
    steps: list[tuple[str, Callable[[], None]]] = [
        ("budgets", _add_budgets_calls),
        ("backup-policies", patch_backup_policies),
        ("kms-key-properties", patch_kms_key_properties),
        ("output-conditions", patch_output_conditions),
        ("table-point-in-time-recovery", patch_table_point_in_time_recovery),
        ("stand-ins", register_stand_ins),
        ("stack-set-capabilities", patch_stack_set_capabilities),
        ("stack-instance-parameters", patch_stack_instance_parameters),
        ("stack-instance-stack-id", patch_stack_instance_stack_id),
        ("missing-stack-instance", patch_missing_stack_instance),
        ("assume-missing-role", patch_assume_missing_role),
        ("security-services", _fill_security_services),
        ("cost-explorer", _fill_cost_explorer),
    ]
    for name, step in steps:
        if name not in _applied:
            step()
            _applied.add(name)


def _fill_cost_explorer() -> None:
    from orgkit.sandbox.cost_gaps import fill_cost_explorer

    fill_cost_explorer()


def _fill_security_services() -> None:
    from orgkit.sandbox.security_gaps import fill_security_services

    fill_security_services()


# ------------------------------------------------------------------------------------ helpers


def _moto_version() -> str:
    try:
        from importlib.metadata import version

        return version("moto")
    except Exception:  # pragma: no cover - moto is importable, so it is installed
        return "unknown"


def _require(owner: Any, name: str, gap: str) -> Any:
    """``owner.name``, or a :class:`MotoGapError` naming ``gap`` when moto has no such thing."""
    try:
        return getattr(owner, name)
    except AttributeError:
        label = getattr(owner, "__qualname__", None) or getattr(owner, "__name__", repr(owner))
        raise MotoGapError(gap, f"{label}.{name} is missing") from None


def _require_params(function: Callable[..., Any], names: Iterable[str], gap: str) -> None:
    """Check that moto's ``function`` still takes the keyword arguments a patch passes it."""
    parameters = inspect.signature(function).parameters
    missing = [name for name in names if name not in parameters]
    if missing:
        raise MotoGapError(gap, f"{function.__qualname__}() no longer takes {', '.join(missing)}")


def _require_classmethod(owner: type, name: str, gap: str) -> Callable[..., Any]:
    """The function behind the classmethod ``owner.name`` (so a patch can wrap it)."""
    found = inspect.getattr_static(owner, name, None)
    if not isinstance(found, classmethod):
        raise MotoGapError(gap, f"{owner.__qualname__}.{name} is not a classmethod any more")
    function: Callable[..., Any] = found.__func__
    return function


def _tags_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or []}


# ------------------------------------------------------------------------------------ budgets


def _add_budgets_calls() -> None:
    """Teach moto's budgets service ``UpdateBudget``, ``DescribeSubscribersForNotification`` and
    ``DescribeBudgetNotificationsForAccount``.

    moto gap: the three calls are unimplemented (HTTP 500 over the server). Production code is
    unchanged: orgkit sends the same calls to AWS.
    """
    from moto.budgets.exceptions import NotFoundException
    from moto.budgets.models import BudgetsBackend
    from moto.budgets.responses import BudgetsResponse

    def backend_update_budget(
        self: BudgetsBackend, account_id: str, new_budget: dict[str, Any]
    ) -> None:
        name = new_budget["BudgetName"]
        if name not in self.budgets[account_id]:
            raise NotFoundException(f"Unable to update budget: {name} - the budget doesn't exist.")
        stored = self.budgets[account_id][name].budget
        for key in ("BudgetLimit", "TimeUnit", "CostFilters", "CostTypes", "BudgetType"):
            if key in new_budget:
                stored[key] = new_budget[key]

    def backend_subscribers(
        self: BudgetsBackend, account_id: str, budget_name: str, notification: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if budget_name not in self.budgets[account_id]:
            raise NotFoundException(
                f"Unable to get subscribers: {budget_name} - the budget doesn't exist."
            )
        for stored in self.budgets[account_id][budget_name].notifications:
            if _same_notification(stored.details, notification):
                return list(stored.subscribers)  # type: ignore[arg-type]  # a list at runtime
        raise NotFoundException("Unable to get subscribers - the notification doesn't exist.")

    def update_budget(self: Any) -> str:
        self.backend.update_budget(self._get_param("AccountId"), self._get_param("NewBudget"))
        return json.dumps({})

    def describe_subscribers_for_notification(self: Any) -> str:
        subscribers = self.backend.describe_subscribers_for_notification(
            self._get_param("AccountId"),
            self._get_param("BudgetName"),
            self._get_param("Notification"),
        )
        return json.dumps({"Subscribers": subscribers})

    def describe_budget_notifications_for_account(self: Any) -> str:
        # Every budget of the account with its notifications, in pages of MaxResults budgets
        # (AWS's default 50); the token is the index of the page's first budget.
        stored = self.backend.budgets[self._get_param("AccountId")]
        entries = [
            {"BudgetName": name, "Notifications": list(budget.get_notifications())}
            for name, budget in stored.items()
        ]
        size = int(self._get_param("MaxResults") or 50)
        start = int(self._get_param("NextToken") or 0)
        body: dict[str, Any] = {"BudgetNotificationsForAccount": entries[start : start + size]}
        if start + size < len(entries):
            body["NextToken"] = str(start + size)
        return json.dumps(body)

    BudgetsBackend.update_budget = backend_update_budget  # type: ignore[attr-defined]
    BudgetsBackend.describe_subscribers_for_notification = (  # type: ignore[attr-defined]
        backend_subscribers
    )
    BudgetsResponse.update_budget = update_budget  # type: ignore[attr-defined]
    BudgetsResponse.describe_subscribers_for_notification = (  # type: ignore[attr-defined]
        describe_subscribers_for_notification
    )
    BudgetsResponse.describe_budget_notifications_for_account = (  # type: ignore[attr-defined]
        describe_budget_notifications_for_account
    )


def _same_notification(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("NotificationType", "ComparisonOperator", "ThresholdType")
    return all(a.get(k) == b.get(k) for k in keys) and float(a["Threshold"]) == float(
        b["Threshold"]
    )


# ---------------------------------------------------------------------- backup policies

_BACKUP_POLICY_GAP = "CreatePolicy of type BACKUP_POLICY"
BACKUP_POLICY_ARN_FORMAT = "arn:{0}:organizations::{1}:policy/{2}/backup_policy/{3}"


def patch_backup_policies() -> None:
    """Let moto create policies of type ``BACKUP_POLICY``.

    moto gap: ``FakePolicy`` lists ``BACKUP_POLICY`` among its supported types (so the type can
    be enabled on the root and listed), but its constructor raises ``NotImplementedError`` for
    it: there is no ARN format for backup policies. The patched constructor builds the policy as
    it builds a tag policy (content is stored as given, like every type) and gives it a backup
    policy's ARN (``.../policy/o-.../backup_policy/p-...``), as AWS does. No production path
    changes: orgkit sends the same CreatePolicy to AWS.
    """
    from moto.organizations import models, utils

    gap = _BACKUP_POLICY_GAP
    fake_policy = _require(models, "FakePolicy", gap)
    supported = _require(fake_policy, "SUPPORTED_POLICY_TYPES", gap)
    if "BACKUP_POLICY" not in supported or "TAG_POLICY" not in supported:
        raise MotoGapError(gap, "FakePolicy.SUPPORTED_POLICY_TYPES changed")
    if any("BACKUP" in name for name in dir(utils) if name.endswith("_ARN_FORMAT")):
        raise MotoGapError(gap, "moto now has a backup policy ARN format: it may fill the gap")
    original = fake_policy.__init__
    _require_params(original, ("organization",), gap)

    def __init__(self: Any, organization: Any, **kwargs: Any) -> None:
        if kwargs.get("Type") != "BACKUP_POLICY":
            original(self, organization, **kwargs)
            return
        original(self, organization, **{**kwargs, "Type": "TAG_POLICY"})
        self.type = "BACKUP_POLICY"
        self._arn_format = BACKUP_POLICY_ARN_FORMAT

    fake_policy.__init__ = __init__


# ---------------------------------------------------------------------- KMS key properties

_KMS_GAP = "AWS::KMS::Key Tags and KeyPolicy in CloudFormation shape"


def patch_kms_key_properties() -> None:
    """Translate ``AWS::KMS::Key`` ``Tags`` and ``KeyPolicy`` from CloudFormation's shapes.

    moto gap: moto's ``Key.create_from_cloudformation_json`` hands the template's properties to
    the KMS backend unchanged, but two of them have a different shape in CloudFormation than in
    the KMS API:

    * ``Tags`` are ``[{Key, Value}]``; the KMS tagger wants ``[{TagKey, TagValue}]`` and raises
      ``KeyError('TagKey')``, so the key is never created and the stack fails on the first
      ``!GetAtt`` of it ("Fn::GetAtt references undefined resource");
    * ``KeyPolicy`` may be a JSON object; moto stores it as is, and every later ``DescribeKey``
      or ``GetKeyPolicy`` on the key fails (HTTP 500: moto ``json.loads`` the stored policy).

    The patch translates both on the way in, so templates keep the real CloudFormation shapes.
    It changes no production path: only moto's CloudFormation is patched.
    """
    from moto.kms.models import Key

    original = _require_classmethod(Key, "create_from_cloudformation_json", _KMS_GAP)
    _require_params(
        original, ("resource_name", "cloudformation_json", "account_id", "region_name"), _KMS_GAP
    )

    def create_from_cloudformation_json(
        cls: type[Key],
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Key:
        properties = dict(cloudformation_json.get("Properties") or {})
        if properties.get("Tags"):
            properties["Tags"] = [
                {"TagKey": tag["Key"], "TagValue": tag["Value"]} if "Key" in tag else tag
                for tag in properties["Tags"]
            ]
        if isinstance(properties.get("KeyPolicy"), dict):
            properties["KeyPolicy"] = json.dumps(properties["KeyPolicy"])
        key: Key = original(
            cls,
            resource_name,
            {**cloudformation_json, "Properties": properties},
            account_id,
            region_name,
            **kwargs,
        )
        return key

    Key.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json
    )


_PITR_GAP = "DynamoDB PointInTimeRecoverySpecification in templates"


def patch_table_point_in_time_recovery() -> None:
    """Honour an ``AWS::DynamoDB::Table``'s ``PointInTimeRecoverySpecification``.

    moto gap: moto's ``Table.create_from_cloudformation_json`` drops the property, so every
    table a template creates reads back with point-in-time recovery DISABLED
    (``DescribeContinuousBackups``), whatever the template says. The patch turns it on through
    moto's own ``UpdateContinuousBackups`` after the table is created. No production path changes.
    """
    from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
    from moto.dynamodb.models.table import Table

    original = _require_classmethod(Table, "create_from_cloudformation_json", _PITR_GAP)
    _require(DynamoDBBackend, "update_continuous_backups", _PITR_GAP)

    def create_from_cloudformation_json(
        cls: type[Table],
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Table:
        table: Table = original(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        properties = cloudformation_json.get("Properties") or {}
        spec = properties.get("PointInTimeRecoverySpecification") or {}
        if str(spec.get("PointInTimeRecoveryEnabled")).lower() == "true":
            dynamodb_backends[account_id][region_name].update_continuous_backups(
                table.name, {"PointInTimeRecoveryEnabled": True}
            )
        return table

    Table.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json
    )


# --------------------------------------------------------------------- conditional exports

_OUTPUT_CONDITION_GAP = "conditional Outputs with an Export"


def patch_output_conditions() -> None:
    """Make moto skip exported ``Outputs`` whose ``Condition`` is false, as CloudFormation does.

    moto gap: ``OutputMap.exports`` evaluates every Output that has an ``Export`` and ignores
    the Output's ``Condition`` (moto's plain outputs honour it), so exporting a conditional
    resource (``WebAclArn``, prod only, in themisguard-platform) fails the dev and staging stacks
    with "Fn::GetAtt references undefined resource". Real CloudFormation neither evaluates nor
    exports such an Output. It changes no production path: only moto's CloudFormation is patched.
    """
    from moto.cloudformation import parsing

    gap = _OUTPUT_CONDITION_GAP
    output_map = _require(parsing, "OutputMap", gap)
    export_class = _require(parsing, "Export", gap)
    clean_json = _require(parsing, "clean_json", gap)
    if not isinstance(inspect.getattr_static(output_map, "exports", None), property):
        raise MotoGapError(gap, "OutputMap.exports is not a property any more")
    _require_params(output_map.__init__, ("resources", "template", "stack_id"), gap)
    _require_params(export_class.__init__, ("exporting_stack_id", "name", "value"), gap)

    def exports(self: Any) -> list[Any]:
        try:
            outputs: dict[str, Any] = self._output_json_map or {}
            resources = self._resource_map
            conditions = resources.lazy_condition_map
            stack_id = self._stack_id
        except AttributeError as exc:
            raise MotoGapError(gap, f"OutputMap changed its internals ({exc})") from exc
        found = []
        for output in outputs.values():
            condition = output.get("Condition")
            if condition is not None and not (condition in conditions and conditions[condition]):
                continue  # the Output does not exist, so neither does its export
            export = output.get("Export")
            if export:
                found.append(
                    export_class(
                        stack_id,
                        clean_json(export.get("Name"), resources),
                        clean_json(output.get("Value"), resources),
                    )
                )
        return found

    output_map.exports = property(exports)


# ---------------------------------------------------------------------------------- stand-ins

_STAND_IN_GAP = (
    "resource types moto's CloudFormation skips (WAFv2 web ACL, GuardDuty, alarms, backup vault, "
    "Secrets Manager secrets and their resource policies)"
)


class _StandIn:
    """What the CloudFormation stand-ins share (a mixin, not a CloudFormationModel).

    moto finds resource types through ``CloudFormationModel.__subclasses__()``: *direct*
    subclasses only. So the shared behaviour lives in this mixin and each registered class is
    ``(<stand-in>, CloudFormationModel)``, created by :func:`register_stand_ins`.
    """

    CFN_TYPE: ClassVar[str]
    NAME_PROPERTY: ClassVar[str] = ""
    ATTRIBUTES: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.CFN_TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, *args: Any, **kwargs: Any
    ) -> Any:
        # moto redeploys nothing on stack set updates either; keep the resource as it is.
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, *args: Any, **kwargs: Any) -> None:
        # Only reached when the instance has no delete(); every stand-in has one.
        return None

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return str(self._attributes()[attribute_name])

    def _attributes(self) -> dict[str, str]:
        raise NotImplementedError


class _WebAclStandIn(_StandIn):
    """``AWS::WAFv2::WebACL``, created through moto's own WAFv2 backend."""

    CFN_TYPE = "AWS::WAFv2::WebACL"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = frozenset({"Arn", "Id"})
    acl: Any
    scope: str

    @staticmethod
    def _backend(account_id: str, region_name: str, scope: str) -> Any:
        from moto.wafv2.models import GLOBAL_REGION, wafv2_backends

        return wafv2_backends[account_id][GLOBAL_REGION if scope == "CLOUDFRONT" else region_name]

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _WebAclStandIn:
        props = cloudformation_json["Properties"]
        self = cls()
        self.scope = props["Scope"]
        self.acl = cls._backend(account_id, region_name, self.scope).create_web_acl(
            name=props.get("Name") or resource_name,
            visibility_config=props["VisibilityConfig"],
            default_action=props["DefaultAction"],
            scope=self.scope,
            description=props.get("Description", ""),
            tags=props.get("Tags", []),
            rules=props.get("Rules", []),
            association_config=props.get("AssociationConfig"),
            captcha_config=props.get("CaptchaConfig"),
            challenge_config=props.get("ChallengeConfig"),
            custom_response_bodies=props.get("CustomResponseBodies"),
            token_domains=props.get("TokenDomains"),
        )
        return self

    @property
    def physical_resource_id(self) -> str:
        return f"{self.acl.name}|{self.acl.id}|{self.scope}"  # what Ref returns on AWS

    def _attributes(self) -> dict[str, str]:
        return {"Arn": self.acl.arn, "Id": self.acl.id}

    def delete(self, account_id: str, region_name: str) -> None:
        self._backend(account_id, region_name, self.scope).delete_web_acl(
            name=self.acl.name, scope=self.scope, _id=self.acl.id, lock_token=self.acl.lock_token
        )


class _DetectorStandIn(_StandIn):
    """``AWS::GuardDuty::Detector``, created through moto's own GuardDuty backend."""

    CFN_TYPE = "AWS::GuardDuty::Detector"
    ATTRIBUTES = frozenset({"Id"})
    detector_id: str

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _DetectorStandIn:
        from moto.guardduty.models import guardduty_backends

        props = cloudformation_json["Properties"]
        self = cls()
        self.detector_id = guardduty_backends[account_id][region_name].create_detector(
            enable=props["Enable"],
            finding_publishing_frequency=props.get("FindingPublishingFrequency", "SIX_HOURS"),
            data_sources=props.get("DataSources", {}),
            tags=_tags_dict(props.get("Tags")),
            features=props.get("Features", []),
        )
        return self

    @property
    def physical_resource_id(self) -> str:
        return self.detector_id

    def _attributes(self) -> dict[str, str]:
        return {"Id": self.detector_id}

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.guardduty.models import guardduty_backends

        guardduty_backends[account_id][region_name].delete_detector(detector_id=self.detector_id)


class _AlarmStandIn(_StandIn):
    """``AWS::CloudWatch::Alarm``, created through moto's own CloudWatch backend.

    Needed by the alarms themselves and by the dashboard, whose alarm widget ``!GetAtt``s them.
    """

    CFN_TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    ATTRIBUTES = frozenset({"Arn"})
    alarm: Any

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _AlarmStandIn:
        from moto.cloudwatch.models import cloudwatch_backends

        props = cloudformation_json["Properties"]
        self = cls()
        self.alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=props.get("AlarmName") or resource_name,
            namespace=props.get("Namespace"),
            metric_name=props.get("MetricName"),
            comparison_operator=props["ComparisonOperator"],
            evaluation_periods=props["EvaluationPeriods"],
            period=props.get("Period"),
            threshold=props.get("Threshold"),
            statistic=props.get("Statistic"),
            description=props.get("AlarmDescription"),
            dimensions=props.get("Dimensions", []),
            alarm_actions=props.get("AlarmActions", []),
            metric_data_queries=_metric_data_queries(props.get("Metrics")),
            datapoints_to_alarm=props.get("DatapointsToAlarm"),
            extended_statistic=props.get("ExtendedStatistic"),
            ok_actions=props.get("OKActions"),
            insufficient_data_actions=props.get("InsufficientDataActions"),
            unit=props.get("Unit"),
            actions_enabled=props.get("ActionsEnabled", True),
            treat_missing_data=props.get("TreatMissingData"),
            threshold_metric_id=props.get("ThresholdMetricId"),
            tags=props.get("Tags"),
        )
        return self

    @property
    def physical_resource_id(self) -> str:
        return str(self.alarm.name)

    def _attributes(self) -> dict[str, str]:
        return {"Arn": self.alarm.alarm_arn}

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        cloudwatch_backends[account_id][region_name].delete_alarms(alarm_names=[self.alarm.name])


class _BackupVaultStandIn(_StandIn):
    """``AWS::Backup::BackupVault``, created through moto's own AWS Backup backend."""

    CFN_TYPE = "AWS::Backup::BackupVault"
    NAME_PROPERTY = "BackupVaultName"
    ATTRIBUTES = frozenset({"BackupVaultArn", "BackupVaultName"})
    vault: Any

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _BackupVaultStandIn:
        from moto.backup.models import backup_backends

        props = cloudformation_json["Properties"]
        self = cls()
        self.vault = backup_backends[account_id][region_name].create_backup_vault(
            backup_vault_name=props.get("BackupVaultName") or resource_name,
            backup_vault_tags=dict(props.get("BackupVaultTags") or {}),
            encryption_key_arn=props.get("EncryptionKeyArn", ""),
            creator_request_id="",
        )
        return self

    @property
    def physical_resource_id(self) -> str:
        return str(self.vault.backup_vault_name)  # what Ref returns on AWS

    def _attributes(self) -> dict[str, str]:
        return {
            "BackupVaultArn": self.vault.backup_vault_arn,
            "BackupVaultName": self.vault.backup_vault_name,
        }

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.backup.models import backup_backends

        backup_backends[account_id][region_name].delete_backup_vault(
            backup_vault_name=self.vault.backup_vault_name
        )


class _SecretStandIn(_StandIn):
    """``AWS::SecretsManager::Secret``, created through moto's own Secrets Manager backend.

    Without ``SecretString`` (the platform's secrets) it is created with no version, hence no
    value, as CloudFormation creates an empty secret.
    """

    CFN_TYPE = "AWS::SecretsManager::Secret"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = frozenset({"Id"})
    arn: str

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _SecretStandIn:
        from moto.secretsmanager.models import secretsmanager_backends

        props = cloudformation_json["Properties"]
        self = cls()
        created = secretsmanager_backends[account_id][region_name].create_secret(
            name=props.get("Name") or resource_name,
            secret_string=props.get("SecretString"),
            secret_binary=None,
            description=props.get("Description"),
            tags=props.get("Tags"),
            kms_key_id=props.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        self.arn = json.loads(created)["ARN"]
        return self

    @property
    def physical_resource_id(self) -> str:
        return self.arn  # Ref of a secret is its ARN on AWS

    def _attributes(self) -> dict[str, str]:
        return {"Id": self.arn}

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.secretsmanager.models import secretsmanager_backends

        secretsmanager_backends[account_id][region_name].delete_secret(
            secret_id=self.arn, recovery_window_in_days=None, force_delete_without_recovery=True
        )


class _SecretPolicyStandIn(_StandIn):
    """``AWS::SecretsManager::ResourcePolicy``, put through moto's Secrets Manager backend
    (stored and returned by GetResourcePolicy; moto evaluates no policy)."""

    CFN_TYPE = "AWS::SecretsManager::ResourcePolicy"
    secret_id: str

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _SecretPolicyStandIn:
        from moto.secretsmanager.models import secretsmanager_backends

        props = cloudformation_json["Properties"]
        policy = props["ResourcePolicy"]
        self = cls()
        self.secret_id = props["SecretId"]
        secretsmanager_backends[account_id][region_name].put_resource_policy(
            secret_id=self.secret_id,
            policy=policy if isinstance(policy, str) else json.dumps(policy),
        )
        return self

    @property
    def physical_resource_id(self) -> str:
        return self.secret_id  # Ref of a resource policy is the secret's ARN on AWS

    def _attributes(self) -> dict[str, str]:
        return {}

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.secretsmanager.models import secretsmanager_backends

        backend = secretsmanager_backends[account_id][region_name]
        if backend._is_valid_identifier(self.secret_id):  # the secret may be gone first
            backend.delete_resource_policy(secret_id=self.secret_id)


def _metric_data_queries(metrics: list[dict[str, Any]] | None) -> list[Any] | None:
    """An alarm's ``Metrics`` (CloudFormation shape) as moto's ``MetricDataQuery`` objects."""
    if not metrics:
        return None
    from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat

    queries = []
    for query in metrics:
        stat = None
        if "MetricStat" in query:
            metric_stat = query["MetricStat"]
            metric = metric_stat["Metric"]
            stat = MetricStat(
                metric=Metric(
                    metric_name=metric["MetricName"],
                    namespace=metric["Namespace"],
                    dimensions=[
                        Dimension(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])
                    ],
                ),
                period=metric_stat.get("Period"),
                stat=metric_stat.get("Stat"),
                unit=metric_stat.get("Unit"),
            )
        # moto annotates label, period and return_data as str but stores whatever it is given.
        optional: dict[str, Any] = {
            "label": query.get("Label"),
            "period": query.get("Period"),
            "return_data": query.get("ReturnData"),
        }
        queries.append(
            MetricDataQuery(
                query_id=query["Id"],
                expression=query.get("Expression"),
                metric_stat=stat,
                **optional,
            )
        )
    return queries


_STAND_IN_MIXINS: tuple[type[_StandIn], ...] = (
    _WebAclStandIn,
    _DetectorStandIn,
    _AlarmStandIn,
    _BackupVaultStandIn,
    _SecretStandIn,
    _SecretPolicyStandIn,
)


def _check_stand_in_internals() -> None:
    """Fail loudly if the moto calls the stand-ins make have changed."""
    from moto.backup import models as backup
    from moto.cloudwatch import models as cloudwatch
    from moto.guardduty import models as guardduty
    from moto.secretsmanager import models as secretsmanager
    from moto.wafv2 import models as wafv2

    gap = _STAND_IN_GAP
    for module, names in (
        (backup, ("backup_backends", "BackupBackend")),
        (wafv2, ("wafv2_backends", "GLOBAL_REGION", "WAFV2Backend")),
        (guardduty, ("guardduty_backends", "GuardDutyBackend")),
        (secretsmanager, ("secretsmanager_backends", "SecretsManagerBackend")),
        (
            cloudwatch,
            (
                "cloudwatch_backends",
                "CloudWatchBackend",
                "Dimension",
                "Metric",
                "MetricStat",
                "MetricDataQuery",
            ),
        ),
    ):
        for name in names:
            _require(module, name, gap)
    _require_params(
        wafv2.WAFV2Backend.create_web_acl,
        (
            "name",
            "visibility_config",
            "default_action",
            "scope",
            "description",
            "tags",
            "rules",
            "association_config",
            "captcha_config",
            "challenge_config",
            "custom_response_bodies",
            "token_domains",
        ),
        gap,
    )
    _require_params(wafv2.WAFV2Backend.delete_web_acl, ("name", "scope", "_id", "lock_token"), gap)
    _require_params(
        guardduty.GuardDutyBackend.create_detector,
        ("enable", "finding_publishing_frequency", "data_sources", "tags", "features"),
        gap,
    )
    _require_params(guardduty.GuardDutyBackend.delete_detector, ("detector_id",), gap)
    _require_params(
        cloudwatch.CloudWatchBackend.put_metric_alarm,
        (
            "name",
            "namespace",
            "metric_name",
            "comparison_operator",
            "evaluation_periods",
            "period",
            "threshold",
            "statistic",
            "description",
            "dimensions",
            "alarm_actions",
            "metric_data_queries",
            "datapoints_to_alarm",
            "extended_statistic",
            "ok_actions",
            "insufficient_data_actions",
            "unit",
            "actions_enabled",
            "treat_missing_data",
            "threshold_metric_id",
            "tags",
        ),
        gap,
    )
    _require_params(cloudwatch.CloudWatchBackend.delete_alarms, ("alarm_names",), gap)
    _require_params(
        backup.BackupBackend.create_backup_vault,
        ("backup_vault_name", "backup_vault_tags", "encryption_key_arn", "creator_request_id"),
        gap,
    )
    _require_params(backup.BackupBackend.delete_backup_vault, ("backup_vault_name",), gap)
    secrets = secretsmanager.SecretsManagerBackend
    _require_params(
        secrets.create_secret,
        (
            "name",
            "secret_string",
            "secret_binary",
            "description",
            "tags",
            "kms_key_id",
            "client_request_token",
            "replica_regions",
            "force_overwrite",
        ),
        gap,
    )
    _require_params(
        secrets.delete_secret,
        ("secret_id", "recovery_window_in_days", "force_delete_without_recovery"),
        gap,
    )
    _require_params(secrets.put_resource_policy, ("secret_id", "policy"), gap)
    _require_params(secrets.delete_resource_policy, ("secret_id",), gap)
    _require(secrets, "_is_valid_identifier", gap)
    _require_params(cloudwatch.MetricStat.__init__, ("metric", "period", "stat", "unit"), gap)
    _require_params(cloudwatch.Metric.__init__, ("metric_name", "namespace", "dimensions"), gap)
    _require_params(
        cloudwatch.MetricDataQuery.__init__,
        ("query_id", "label", "period", "return_data", "expression", "metric_stat"),
        gap,
    )


def register_stand_ins() -> None:
    """Register CloudFormation stand-ins for WAFv2 web ACLs, GuardDuty detectors, alarms and
    backup vaults.

    moto gap: moto's CloudFormation has no model for ``AWS::WAFv2::WebACL``,
    ``AWS::GuardDuty::Detector``, ``AWS::CloudWatch::Alarm`` or ``AWS::Backup::BackupVault``; it
    skips them with a warning, so every ``!Ref``/``!GetAtt`` of them (the web ACL's logging
    configuration and export, the detector id output, the dashboard's alarm widget) fails the
    stack, and the vault a backup policy names never exists. Each stand-in creates the resource
    through moto's own WAFv2, GuardDuty, CloudWatch or AWS Backup backend, so it is then visible
    through those services' APIs (and removed with the stack). It changes no production path:
    only moto's CloudFormation is extended.
    """
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    gap = _STAND_IN_GAP
    caches = [
        _require(parsing, name, gap)
        for name in ("get_model_list", "get_model_map", "get_name_type_map")
    ]
    if not all(callable(getattr(cache, "cache_clear", None)) for cache in caches):
        raise MotoGapError(gap, "moto's CloudFormation model lookups are no longer lru_caches")
    _check_stand_in_internals()
    native = {
        model.cloudformation_type()
        for model in CloudFormationModel.__subclasses__()
        if model not in _stand_ins
    }
    already = sorted(native & {mixin.CFN_TYPE for mixin in _STAND_IN_MIXINS})
    if already:
        raise MotoGapError(gap, f"moto now models {', '.join(already)} itself")

    metaclass: Any = type(CloudFormationModel)
    for mixin in _STAND_IN_MIXINS:
        name = mixin.__name__.lstrip("_")
        # Direct subclasses of CloudFormationModel, as moto requires. Its metaclass files every
        # model under the service named by the second part of __module__ (here "sandbox"), so
        # __module__ must be a dotted module path: this module's is.
        _stand_ins.append(
            metaclass(
                name,
                (mixin, CloudFormationModel),
                {"__module__": __name__, "__doc__": mixin.__doc__},
            )
        )
    for cache in caches:
        cache.cache_clear()  # moto caches its model list; make it see the stand-ins

    model_map = parsing.get_model_map()
    for stand_in in _stand_ins:
        if model_map.get(stand_in.cloudformation_type()) is not stand_in:  # type: ignore[attr-defined]
            raise MotoGapError(gap, f"moto does not resolve {stand_in.__name__} by its type")


# ------------------------------------------------------------------------------ stack sets


def patch_stack_set_capabilities() -> None:
    """moto gap: CreateStackSet and UpdateStackSet drop ``Capabilities`` and DescribeStackSet
    never returns them, so every stack set would look changed on every plan. The sandbox keeps
    what was sent, as CloudFormation does. No production path changes."""
    from moto.cloudformation.models import StackSet
    from moto.cloudformation.responses import CloudFormationResponse

    gap = "stack set Capabilities are not stored"
    create = _require(CloudFormationResponse, "create_stack_set", gap)
    update = _require(CloudFormationResponse, "update_stack_set", gap)
    StackSet.capabilities = ()  # type: ignore[attr-defined]

    def remember(response: Any) -> None:
        name = response._get_param("StackSetName")
        stack_set = response.cloudformation_backend.describe_stack_set(name)
        capabilities = response._get_param("Capabilities")
        if capabilities is not None:
            stack_set.capabilities = list(capabilities)

    def create_stack_set(self: Any) -> Any:
        result = create(self)
        remember(self)
        return result

    def update_stack_set(self: Any) -> Any:
        result = update(self)
        remember(self)
        return result

    CloudFormationResponse.create_stack_set = create_stack_set  # type: ignore[method-assign]
    CloudFormationResponse.update_stack_set = update_stack_set  # type: ignore[method-assign]


def patch_stack_instance_parameters() -> None:
    """moto gap: a stack instance's ParameterOverrides replace the stack set's parameters
    instead of overriding them one by one, so parameters set only on the stack set are lost in
    the instance's stack. The sandbox deploys each instance with the stack set's parameters
    overridden by the instance's, and still reports only the overrides, as CloudFormation
    does. No production path changes."""
    from moto.cloudformation.models import StackSet

    gap = "stack instance overrides replace the stack set's parameters"
    create = _require(StackSet, "create_stack_instances", gap)
    _require_params(create, ["accounts", "regions", "deployment_targets", "parameters"], gap)

    def as_dict(parameters: Any) -> dict[str, str]:
        if isinstance(parameters, dict):
            return dict(parameters)
        return {p["ParameterKey"]: p.get("ParameterValue", "") for p in parameters or []}

    def create_stack_instances(
        self: Any, accounts: list[str], regions: list[str], deployment_targets: Any, parameters: Any
    ) -> Any:
        overrides = list(parameters or [])
        merged = {**as_dict(self.parameters), **as_dict(overrides)}
        before = {(i.account_id, i.region_name) for i in self.stack_instances}
        result = create(
            self,
            accounts,
            regions,
            deployment_targets,
            [{"ParameterKey": k, "ParameterValue": v} for k, v in merged.items()],
        )
        for instance in self.stack_instances:
            if (instance.account_id, instance.region_name) not in before:
                instance.parameters = overrides
        return result

    StackSet.create_stack_instances = create_stack_instances  # type: ignore[method-assign]


def patch_missing_stack_instance() -> None:
    """moto gap: DescribeStackInstance of an instance that does not exist (never created, or
    deleted) fails inside moto (``None.to_dict()``: HTTP 500, a body boto3 cannot parse);
    CloudFormation answers ``StackInstanceNotFoundException``, which is how orgkit tells a
    missing instance from a failing call. The sandbox raises moto's own exception for it. No
    production path changes."""
    from moto.cloudformation.exceptions import StackInstanceNotFound
    from moto.cloudformation.models import CloudFormationBackend

    gap = "DescribeStackInstance of a missing instance"
    original = _require(CloudFormationBackend, "describe_stack_instance", gap)
    _require_params(original, ("stack_set_name", "account_id", "region"), gap)

    def describe_stack_instance(
        self: Any, stack_set_name: str, account_id: str, region: str
    ) -> dict[str, Any]:
        stack_set = self.describe_stack_set(stack_set_name)
        if stack_set.instances.get_instance(account_id, region) is None:
            raise StackInstanceNotFound()
        result: dict[str, Any] = original(self, stack_set_name, account_id, region)
        return result

    CloudFormationBackend.describe_stack_instance = describe_stack_instance  # type: ignore[method-assign]


def patch_assume_missing_role() -> None:
    """moto gap: AssumeRole succeeds for any role ARN, even one that does not exist; AWS answers
    ``AccessDenied``. orgkit tells a read role that was never created (``organization.read_role``
    declared since the last apply) by that answer, so the sandbox gives it for a role missing
    from the target account's IAM. Trust policies are still not evaluated. No production path
    changes."""
    from moto.core.exceptions import AccessDeniedError
    from moto.iam.models import iam_backends
    from moto.sts.models import STSBackend

    gap = "AssumeRole of a role that does not exist"
    original = _require(STSBackend, "assume_role", gap)
    _require_params(original, ("role_arn",), gap)

    def assume_role(self: Any, *args: Any, **kwargs: Any) -> Any:
        role_arn = str(kwargs.get("role_arn", ""))
        parts = role_arn.split(":", 5)
        if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
            name = parts[5].rsplit("/", 1)[-1]
            roles = iam_backends[parts[4]][parts[1]].roles.values()
            if not any(role.name == name for role in roles):
                raise AccessDeniedError("the caller", f"sts:AssumeRole on resource: {role_arn}")
        return original(self, *args, **kwargs)

    STSBackend.assume_role = assume_role  # type: ignore[method-assign]


def patch_stack_instance_stack_id() -> None:
    """moto gap: DescribeStackInstance's StackId is made up afresh on every call, so it names no
    stack; CloudFormation gives the id of the instance's stack in the target account, which is
    how orgkit finds a stack instance's outputs (the organization trail's bucket and key). The
    sandbox answers with the real stack's id. No production path changes."""
    from moto.cloudformation.models import StackInstance

    gap = "stack instance StackId names no stack"
    to_dict = _require(StackInstance, "to_dict", gap)

    def with_stack_id(self: Any) -> dict[str, Any]:
        data: dict[str, Any] = to_dict(self)
        stack = getattr(self, "stack", None)
        if stack is not None and getattr(stack, "stack_id", None):
            data["StackId"] = stack.stack_id
        return data

    StackInstance.to_dict = with_stack_id  # type: ignore[method-assign]
