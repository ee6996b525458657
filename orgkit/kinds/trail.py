"""``trail``: the organization's CloudTrail trail, in the management account's home region.

Multi-region, log-file validation on, KMS-encrypted, logging, delivering to the Log Archive
bucket. The bucket and key are the outputs (BucketName, KmsKeyArn) of the stack set org.yaml
names (``security.trail.stack_set``) in the Log Archive account: read from its stack instance,
never guessed. Before that instance exists the plan says so, and apply reads them once the
stack set has run (the trail comes after the stack sets).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.changes import Action, Change, Finding, Side, address
from orgkit.config.models import OrgSpec
from orgkit.errors import AwsError
from orgkit.kinds.base import (
    ApplyContext,
    BatchHandler,
    PlanContext,
    PlanPart,
    ReadContext,
    ResourceKind,
    SideModels,
    one_at_a_time,
)
from orgkit.kinds.stack_instance import instance_outputs
from orgkit.kinds.stack_set import STACK_SETS_ORDER
from orgkit.live.model import LiveOrg
from orgkit.live.session import AwsContext, aws_error, error_code
from orgkit.names import aws_tags, managed_tags

KIND_NAME = "trail"
UNKNOWN = ""  # an output not there yet: read when applying


class TrailSource(Side):
    """Where the trail's bucket and key come from."""

    stack_set: str
    account: str  # the Log Archive account's email
    account_id: str  # empty: created by this apply
    access_role: str
    region: str


class TrailState(Side):
    """The trail as org.yaml wants it, or as it is."""

    name: str
    region: str
    bucket: str
    kms_key_id: str
    organization: bool
    multi_region: bool
    log_file_validation: bool
    global_service_events: bool
    logging: bool
    source: TrailSource | None = None  # on the wanted side only
    tags: dict[str, str] = {}  # set when created (UpdateTrail does not take tags)


def outputs(aws: AwsContext, source: TrailSource, account_id: str) -> dict[str, str]:
    """The outputs of the source stack set's instance in the Log Archive account ({} when the
    instance or its stack is not there yet)."""
    return instance_outputs(aws, source.stack_set, account_id, source.access_role, source.region)


def trail_source(spec: OrgSpec, live: LiveOrg) -> TrailSource:
    """Where org.yaml's trail takes its bucket and key from, with the Log Archive account as
    live (``account_id`` empty until it exists)."""
    declared = spec.security.trail if spec.security is not None else None
    if declared is None:
        raise AssertionError("a trail source without security.trail")
    account = live.account_by_email.get(declared.account.lower())
    spec_account = spec.account_by_email(declared.account)
    return TrailSource(
        stack_set=declared.stack_set,
        account=declared.account.lower(),
        account_id=account.id if account else "",
        access_role=spec.access_role(spec_account) if spec_account else "",
        region=spec.organization.home_region,
    )


def read_trail(aws: AwsContext, name: str, region: str) -> TrailState | None:
    """DescribeTrails and GetTrailStatus of the trail by name, None if there is none."""
    cloudtrail = aws.client("cloudtrail", region)
    trails = cloudtrail.describe_trails(trailNameList=[name], includeShadowTrails=False)
    found = [t for t in trails.get("trailList", []) if t.get("Name") == name]
    if not found:
        return None
    trail = found[0]
    status = cloudtrail.get_trail_status(Name=trail.get("TrailARN", name))
    return TrailState(
        name=name,
        region=region,
        bucket=trail.get("S3BucketName", ""),
        kms_key_id=trail.get("KmsKeyId", ""),
        organization=bool(trail.get("IsOrganizationTrail")),
        multi_region=bool(trail.get("IsMultiRegionTrail")),
        log_file_validation=bool(trail.get("LogFileValidationEnabled")),
        global_service_events=bool(trail.get("IncludeGlobalServiceEvents")),
        logging=bool(status.get("IsLogging")),
    )


# -- apply ----------------------------------------------------------------------------------
def _resolved(ctx: ApplyContext, after: TrailState) -> tuple[str, str]:
    """The bucket and key: as planned, or read now from the source stack's outputs."""
    if after.bucket and after.kms_key_id:
        return after.bucket, after.kms_key_id
    source = after.source
    if source is None:
        raise AwsError("the trail's bucket and key are unknown and it names no source")
    account_id, _ = ctx.ids.account(source.account, source.account_id or None)
    found = outputs(ctx.aws, source, account_id)
    bucket = after.bucket or found.get("BucketName", UNKNOWN)
    key = after.kms_key_id or found.get("KmsKeyArn", UNKNOWN)
    if not bucket or not key:
        raise AwsError(
            f"the trail {after.name} needs the BucketName and KmsKeyArn outputs of stack set "
            f"{source.stack_set} in {source.account} ({source.region}), which are not there",
            hint="Check the stack set's instance in that account (orgkit drift), then apply again.",
        )
    return bucket, key


def check_destination(ctx: ApplyContext, source: TrailSource, bucket: str, key: str) -> None:
    """Refuse a bucket or key that is not the Log Archive account's, in the home region: the
    outputs come from a stack in that account, and the organization's logs must not follow
    them anywhere else."""
    account_id, new = ctx.ids.account(source.account, source.account_id or None)
    parts = key.split(":")
    if len(parts) < 6 or parts[2] != "kms" or (parts[3], parts[4]) != (source.region, account_id):
        raise AwsError(
            f"the trail's key {key!r} (output KmsKeyArn of stack set {source.stack_set}) is not "
            f"a KMS key of the Log Archive account {account_id} in {source.region}; nothing "
            "was changed",
            hint="Check the stack instance's outputs in that account: only the StackSet "
            "execution role should change its stack (protect-log-archive).",
        )
    s3 = ctx.aws.members().client(
        account_id, source.access_role, "s3", new_account=new, region=source.region
    )
    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account_id)
    except ClientError as exc:
        raise AwsError(
            f"the trail's bucket {bucket!r} (output BucketName of stack set {source.stack_set}) "
            f"is not a bucket of the Log Archive account {account_id} "
            f"({error_code(exc)}); nothing was changed",
            hint="Check the stack instance's outputs in that account.",
        ) from exc


def create(ctx: ApplyContext, change: Change) -> str:
    """CreateTrail (organization, multi-region, validation, KMS), then StartLogging."""
    after = change.new(TrailState)
    bucket, key = _resolved(ctx, after)
    if after.source is not None:
        check_destination(ctx, after.source, bucket, key)
    cloudtrail = ctx.aws.client("cloudtrail", after.region)
    arn = cloudtrail.create_trail(
        Name=after.name,
        S3BucketName=bucket,
        KmsKeyId=key,
        IsOrganizationTrail=after.organization,
        IsMultiRegionTrail=after.multi_region,
        EnableLogFileValidation=after.log_file_validation,
        IncludeGlobalServiceEvents=after.global_service_events,
        TagsList=aws_tags(after.tags),
    )["TrailARN"]
    if after.logging:
        cloudtrail.start_logging(Name=arn)
    return f"{arn} -> s3://{bucket}"


def update(ctx: ApplyContext, change: Change) -> str:
    """UpdateTrail with every property org.yaml wants; StartLogging if it was stopped."""
    before, after = change.old(TrailState), change.new(TrailState)
    bucket, key = _resolved(ctx, after)
    if after.source is not None and (bucket, key) != (before.bucket, before.kms_key_id):
        check_destination(ctx, after.source, bucket, key)
    cloudtrail = ctx.aws.client("cloudtrail", after.region)
    cloudtrail.update_trail(
        Name=after.name,
        S3BucketName=bucket,
        KmsKeyId=key,
        IsOrganizationTrail=after.organization,
        IsMultiRegionTrail=after.multi_region,
        EnableLogFileValidation=after.log_file_validation,
        IncludeGlobalServiceEvents=after.global_service_events,
    )
    if after.logging and not before.logging:
        cloudtrail.start_logging(Name=after.name)
        return "updated; logging started"
    return "updated"


COMPARED = (
    "bucket",
    "kms_key_id",
    "organization",
    "multi_region",
    "log_file_validation",
    "global_service_events",
    "logging",
)


class TrailKind(ResourceKind):
    """The organization trail org.yaml declares (``security.trail``)."""

    kind = KIND_NAME
    heading = "Organization trail"
    order = STACK_SETS_ORDER + 10  # after the stack set that makes its bucket and key
    needs = frozenset({"accounts", "stack_sets"})
    provides = frozenset({"resources"})
    destroy_rank = 93  # never planned: orgkit does not delete the trail
    destroy_flag = "allow_destroy"
    models: ClassVar[Mapping[Action, SideModels]] = {
        Action.CREATE: (None, TrailState),
        Action.UPDATE: (TrailState, TrailState),
    }

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """DescribeTrails and GetTrailStatus in the home region; the outputs of the source
        stack instance, when the stack sets' read found it (DescribeStackInstance, then
        DescribeStacks in the Log Archive account)."""
        spec = ctx.config.spec
        if spec.security is None or spec.security.trail is None:
            return live
        declared = spec.security.trail
        source = trail_source(spec, live)
        stack_set = live.stack_set_by_name.get(declared.stack_set)
        deployed = stack_set is not None and any(
            (i.account_id, i.region) == (source.account_id, source.region)
            for i in stack_set.instances
        )
        try:
            trail = read_trail(ctx.aws, declared.name, source.region)
            found = outputs(ctx.aws, source, source.account_id) if deployed else {}
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(f"reading the trail {declared.name}", exc) from exc
        state = {"trail": trail.dump() if trail else None, "outputs": found}
        return replace(live, resources={**live.resources, KIND_NAME: state})

    def plan(self, ctx: PlanContext) -> PlanPart:
        part = PlanPart()
        security = ctx.spec.security
        if security is None or security.trail is None or KIND_NAME not in ctx.live.resources:
            return part
        declared = security.trail
        state: dict[str, Any] = ctx.live.resources[KIND_NAME]
        found: dict[str, str] = state["outputs"]
        source = trail_source(ctx.spec, ctx.live)
        want = TrailState(
            name=declared.name,
            region=source.region,
            bucket=found.get("BucketName", UNKNOWN),
            kms_key_id=found.get("KmsKeyArn", UNKNOWN),
            organization=True,
            multi_region=True,
            log_file_validation=True,
            global_service_events=True,
            logging=True,
            source=source,
            tags=managed_tags(ctx.spec.organization.tags),
        )
        addr = address(self.kind, declared.name)
        if state["trail"] is None:
            part.changes.append(Change(addr, self.kind, Action.CREATE, None, want))
            return part
        have = TrailState.model_validate(state["trail"])
        # An output not read (its instance is being replaced): keep what the trail has.
        want = want.model_copy(
            update={
                "bucket": want.bucket or have.bucket,
                "kms_key_id": want.kms_key_id or have.kms_key_id,
            }
        )
        if any(getattr(have, f) != getattr(want, f) for f in COMPARED):
            part.changes.append(
                Change(addr, self.kind, Action.UPDATE, have, want.model_copy(update={"tags": {}}))
            )
        return part

    @property
    def handlers(self) -> Mapping[Action, BatchHandler]:
        return {Action.CREATE: one_at_a_time(create), Action.UPDATE: one_at_a_time(update)}

    def finding(self, change: Change) -> Finding:
        """The trail's properties only: where its bucket and key come from, and the tags it is
        created with, are not part of what drifts."""

        def shown(side: TrailState) -> dict[str, Any]:
            return {k: v for k, v in side.dump().items() if k not in {"source", "tags"}}

        after = shown(change.new(TrailState))
        if change.action is Action.CREATE:
            return Finding(change.address, self.kind, None, "missing", after, None)
        before = shown(change.old(TrailState))
        return Finding(change.address, self.kind, None, "changed", after, before)

    def describe(self, change: Change) -> list[str]:
        after = change.new(TrailState)
        source = after.source
        pending = (
            f"known after apply: output {{}} of stack set {source.stack_set} in {source.account}"
            if source
            else "unknown"
        )
        bucket = after.bucket or pending.format("BucketName")
        key = after.kms_key_id or pending.format("KmsKeyArn")
        if change.action is Action.CREATE:
            return [
                f"+ organization trail in {after.region}, multi-region, log-file validation, "
                "logging",
                f"+ bucket: {bucket}",
                f"+ kms key: {key}",
            ]
        before = change.old(TrailState)
        lines = []
        for field in COMPARED:
            old, new = getattr(before, field), getattr(after, field)
            if old != new:
                lines.append(f"{field}: {old} -> {new}")
        return lines


KIND = TrailKind()
