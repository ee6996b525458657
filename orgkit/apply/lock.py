"""One apply at a time per organization, whoever runs it and from wherever.

The lock is an item in a DynamoDB table in the management account (``orgkit-locks``, in the
organization's home region), written with a conditional put: it is taken only if no item is
there or the one there has expired. That is atomic in AWS, so two laptops, or a laptop and CI,
can never both hold it. The holder renews it while apply runs; a holder that dies leaves an
item that expires (``LOCK_SECONDS``), and ``orgkit unlock`` removes it at once.

Why DynamoDB: Organizations, IAM and tags have no conditional write, and an S3 object or an
SSM parameter cannot be replaced atomically once expired; a conditional put can.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.errors import AwsError, OrgkitError
from orgkit.live.session import AwsContext, aws_error, error_code
from orgkit.names import MANAGED_BY

TABLE = "orgkit-locks"
LOCK_SECONDS = 15 * 60  # how long a lock outlives its holder's last renewal
RENEW_SECONDS = 60


class LockHeld(OrgkitError):
    """Another apply holds the organization's lock."""


@dataclass(frozen=True)
class LockInfo:
    """Who holds the lock, since when, until when."""

    holder: str
    host: str
    pid: str
    started: str
    expires_at: int
    token: str = ""

    def describe(self) -> str:
        """One line for a person."""
        until = datetime.fromtimestamp(self.expires_at, timezone.utc).isoformat(timespec="seconds")
        return (
            f"{self.holder} on {self.host} (pid {self.pid}) since {self.started}, "
            f"expires {until} unless renewed"
        )


def _key(organization_id: str) -> dict[str, Any]:
    return {"lock_id": {"S": f"apply/{organization_id}"}}


def _table(aws: AwsContext, region: str) -> Any:
    """The lock table's client, creating the table the first time."""
    dynamodb = aws.client("dynamodb", region)
    try:
        dynamodb.describe_table(TableName=TABLE)
    except dynamodb.exceptions.ResourceNotFoundException:
        # Another apply may create it at the same moment: that is fine.
        with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
            dynamodb.create_table(
                TableName=TABLE,
                AttributeDefinitions=[{"AttributeName": "lock_id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "lock_id", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
                Tags=[{"Key": MANAGED_BY[0], "Value": MANAGED_BY[1]}],
            )
        dynamodb.get_waiter("table_exists").wait(TableName=TABLE)
    return dynamodb


def read_lock(aws: AwsContext, region: str, organization_id: str) -> LockInfo | None:
    """The lock as it stands (None: nobody holds it)."""
    dynamodb = aws.client("dynamodb", region)
    try:
        item = dynamodb.get_item(
            TableName=TABLE, Key=_key(organization_id), ConsistentRead=True
        ).get("Item")
    except dynamodb.exceptions.ResourceNotFoundException:
        return None
    if not item:
        return None
    return LockInfo(
        holder=item["holder"]["S"],
        host=item["host"]["S"],
        pid=item["pid"]["S"],
        started=item["started"]["S"],
        expires_at=int(item["expires_at"]["N"]),
        token=item.get("token", {}).get("S", ""),
    )


def acquire(
    aws: AwsContext,
    region: str,
    organization_id: str,
    seconds: int = LOCK_SECONDS,
    clock: Callable[[], float] = time.time,
) -> str:
    """Take the lock or raise :class:`LockHeld` naming its holder; returns the token."""
    token = str(uuid.uuid4())
    now = int(clock())
    try:
        dynamodb = _table(aws, region)
        dynamodb.put_item(
            TableName=TABLE,
            Item={
                **_key(organization_id),
                "token": {"S": token},
                "holder": {"S": _caller(aws)},
                "host": {"S": socket.gethostname()},
                "pid": {"S": str(os.getpid())},
                "started": {"S": datetime.now(timezone.utc).isoformat(timespec="seconds")},
                "expires_at": {"N": str(now + seconds)},
            },
            ConditionExpression="attribute_not_exists(lock_id) OR expires_at < :now",
            ExpressionAttributeValues={":now": {"N": str(now)}},
        )
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise aws_error("taking the apply lock", exc) from exc
        held = read_lock(aws, region, organization_id)
        if held is not None and held.token == token:
            return token  # our own put, retried after its answer was lost
        raise LockHeld(
            "another apply is running on this organization: "
            + (held.describe() if held else "(it has just ended; try again)"),
            hint="Wait for it to finish. If its holder is gone (a crashed laptop, a cancelled "
            "CI job), the lock expires by itself, or remove it now with `orgkit unlock`.",
        ) from None
    except BotoCoreError as exc:
        raise aws_error("taking the apply lock", exc) from exc
    return token


def renew(
    aws: AwsContext,
    region: str,
    organization_id: str,
    token: str,
    seconds: int = LOCK_SECONDS,
    clock: Callable[[], float] = time.time,
) -> bool:
    """Push the expiry out; False when the lock is no longer ours (someone broke it)."""
    try:
        aws.client("dynamodb", region).update_item(
            TableName=TABLE,
            Key=_key(organization_id),
            UpdateExpression="SET expires_at = :until",
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={
                ":until": {"N": str(int(clock()) + seconds)},
                ":token": {"S": token},
            },
        )
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def release(aws: AwsContext, region: str, organization_id: str, token: str) -> None:
    """Give the lock back (only if it is still ours)."""
    try:
        aws.client("dynamodb", region).delete_item(
            TableName=TABLE,
            Key=_key(organization_id),
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={":token": {"S": token}},
        )
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise


def break_lock(aws: AwsContext, region: str, organization_id: str, held: LockInfo) -> bool:
    """Remove the lock ``held`` describes (``orgkit unlock``), and only that one: if it was
    released and taken by someone else meanwhile, nothing is removed (False)."""
    try:
        aws.client("dynamodb", region).delete_item(
            TableName=TABLE,
            Key=_key(organization_id),
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={":token": {"S": held.token}},
        )
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise aws_error("removing the apply lock", exc) from exc
    except BotoCoreError as exc:
        raise aws_error("removing the apply lock", exc) from exc
    return True


@dataclass
class Held:
    """A lock this process holds; ``lost`` is set when it is no longer ours (removed with
    ``orgkit unlock``, or expired because renewals kept failing)."""

    token: str
    lost: threading.Event


@contextmanager
def holding(
    aws: AwsContext,
    region: str,
    organization_id: str,
    notice: Callable[[str], None] = lambda message: None,
) -> Iterator[Held]:
    """Hold the organization's lock while the block runs, renewing it in the background.

    The block must stop writing once ``lost`` is set. Releasing never hides the block's own
    error: if the release fails, a notice says how to remove the lock.
    """
    token = acquire(aws, region, organization_id)
    held = Held(token, threading.Event())
    stop = threading.Event()

    def keep() -> None:
        renewed = time.monotonic()
        while not stop.wait(RENEW_SECONDS):
            try:
                if not renew(aws, region, organization_id, token):
                    held.lost.set()
                    notice("the apply lock is no longer ours (orgkit unlock?): stopping")
                    return
                renewed = time.monotonic()
            except (ClientError, BotoCoreError, AwsError):
                if time.monotonic() - renewed > LOCK_SECONDS - 2 * RENEW_SECONDS:
                    held.lost.set()
                    notice("the apply lock could not be renewed and is about to expire: stopping")
                    return
                notice("could not renew the apply lock; trying again in a minute")

    keeper = threading.Thread(target=keep, name="orgkit-lock", daemon=True)
    keeper.start()
    try:
        yield held
    finally:
        stop.set()
        keeper.join(timeout=5)
        try:
            release(aws, region, organization_id, token)
        except (ClientError, BotoCoreError) as exc:
            notice(
                f"could not release the apply lock ({exc}); it expires in 15 minutes, or "
                "remove it with `orgkit unlock`"
            )


def _caller(aws: AwsContext) -> str:
    return aws.caller_arn() or aws.caller_name()
