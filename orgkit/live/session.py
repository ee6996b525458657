"""boto3 sessions and clients with throttle-aware retries, shared by readers and apply."""

from __future__ import annotations

import threading
from typing import Any, cast

import boto3
import botocore.config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from orgkit import __version__
from orgkit.errors import AwsError, WrongOrganizationError

# Adaptive mode adds client-side rate limiting on top of exponential backoff, which is what
# Organizations' few-calls-per-second throttles want. botocore retries TooManyRequestsException;
# ConcurrentModificationException is retried by apply's own helper.
RETRY_CONFIG = botocore.config.Config(
    retries={"mode": "adaptive", "max_attempts": 10},
    user_agent_extra=f"orgkit/{__version__}",
    max_pool_connections=20,
)


class AwsContext:
    """Credentials (standard chain, optional profile/region) and cached clients.

    ``AWS_ENDPOINT_URL`` is honoured by boto3 itself, which is how the sandbox and tests
    point orgkit at the emulator without any code path of their own.
    """

    def __init__(self, profile: str | None = None, region: str | None = None) -> None:
        try:
            self.session = boto3.Session(profile_name=profile, region_name=region)
        except BotoCoreError as exc:
            raise AwsError(f"cannot open AWS session: {exc}") from exc
        self.region = self.session.region_name or "us-east-1"
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._caller: str | None = None
        self._members: Any = None

    def members(self) -> Any:
        """The member-account sessions of this run (one AssumeRole per account, cached)."""
        from orgkit.live.member import MemberSessions

        with self._lock:
            if self._members is None:
                self._members = MemberSessions(self)
            return self._members

    def client(self, service: str, region: str | None = None) -> Any:
        """A cached, thread-safe client for ``service`` (in ``region``, or the context's)."""
        region = region or self.region
        key = f"{service}@{region}"
        with self._lock:
            if key not in self._clients:
                self._clients[key] = cast(Any, self.session).client(
                    service, region_name=region, config=RETRY_CONFIG
                )
            return self._clients[key]

    def caller_account_id(self) -> str:
        """The account the credentials belong to (one STS call, cached)."""
        if self._caller is None:
            try:
                self._caller = str(self.client("sts").get_caller_identity()["Account"])
            except NoCredentialsError as exc:
                raise AwsError(
                    "no AWS credentials found",
                    hint="Set AWS_PROFILE or pass --profile, or run `orgkit sandbox --serve`.",
                ) from exc
            except ClientError as exc:
                raise AwsError(f"cannot identify the caller: {exc}") from exc
        return self._caller

    def require_management_account(self, expected: str) -> None:
        """Refuse to go on unless the caller is org.yaml's management account."""
        actual = self.caller_account_id()
        if actual != expected:
            raise WrongOrganizationError(
                f"these credentials belong to account {actual}, but org.yaml's "
                f"management_account_id is {expected}",
                hint="Use the management account's credentials (--profile), or fix "
                "organization.management_account_id in org.yaml.",
            )
