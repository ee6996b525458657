"""boto3 sessions and clients with one retry policy, shared by every reader and writer.

Every client orgkit makes (Organizations, IAM, Budgets, STS, CloudFormation, in the management
account or a member account) comes from :func:`make_client`, so every AWS call retries the same
way; AWS errors become :class:`AwsError` through :func:`aws_error`.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
from collections.abc import Callable
from typing import Any, cast

import boto3
import botocore.config
import botocore.session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
)

from orgkit import __version__
from orgkit.errors import AwsError, WrongOrganizationError, did_you_mean
from orgkit.live.pacing import Pacer

MAX_ATTEMPTS = 10
# Standard mode: throttling errors (TooManyRequestsException, ThrottlingException, ...), 5xx and
# connection errors retried with jittered exponential backoff (up to 20 s), per call. Not adaptive
# mode: its client-wide rate limiter takes any throttle for a rate limit and slows every later
# call of the client (the seed applied under 20% random throttles: 204 s adaptive, 136 s
# standard; docs/benchmarks.md).
RETRY_CONFIG = botocore.config.Config(
    retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
    user_agent_extra=f"orgkit/{__version__}",
    max_pool_connections=20,
    connect_timeout=5,  # an unreachable endpoint is said within seconds, not after a minute
)
# STS's answers to credentials that are wrong, expired or not valid in this partition.
REJECTED_CREDENTIALS = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "AuthFailure",
    }
)
CONNECTION_ERRORS = (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError)
_connection_notice: list[Callable[[str], None]] = []


def on_connection_retry(notice: Callable[[str], None]) -> None:
    """Where to say that an endpoint cannot be reached and the call is being retried."""
    _connection_notice[:] = [notice]


def endpoint_source(service: str | None = None) -> str:
    """How the endpoint orgkit talks to was chosen, for messages."""
    if service:
        variable = f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}"
        if os.environ.get(variable):
            return f"{variable}={os.environ[variable]}"
    if os.environ.get("AWS_ENDPOINT_URL"):
        return f"AWS_ENDPOINT_URL={os.environ['AWS_ENDPOINT_URL']}"
    return "AWS's public endpoint (no AWS_ENDPOINT_URL set)"


def endpoint_hint() -> str:
    """What to check when an endpoint cannot be reached."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return (
            f"The endpoint comes from {endpoint_source()}: is the emulator running "
            "(`orgkit sandbox --serve`), and is the URL right? Unset AWS_ENDPOINT_URL to use AWS."
        )
    return "Check the network, a proxy (HTTPS_PROXY) and the region (--region)."


# Errors AWS documents as "try again" that botocore's retry modes do not know: Organizations
# refuses a change while another change of the same resource is in flight.
EXTRA_RETRYABLE = frozenset({"ConcurrentModificationException"})
EXTRA_MAX_DELAY = 20.0


def _retry_extra(
    attempts: int,
    response: Any = None,
    caught_exception: Any = None,
    endpoint: Any = None,
    **_: Any,
) -> float | None:
    """botocore ``needs-retry`` hook: a delay for :data:`EXTRA_RETRYABLE` errors, else None
    (botocore's own retry handler decides the rest). Says when an endpoint is unreachable."""
    if isinstance(caught_exception, CONNECTION_ERRORS) and attempts < MAX_ATTEMPTS:
        host = getattr(endpoint, "host", "the endpoint")
        for notice in _connection_notice:
            notice(
                f"cannot reach {host} ({endpoint_source()}); retrying "
                f"({attempts} of {MAX_ATTEMPTS} attempts)"
            )
    if response is None or attempts >= MAX_ATTEMPTS:
        return None
    code = (response[1] or {}).get("Error", {}).get("Code")
    if code not in EXTRA_RETRYABLE:
        return None
    # Full jitter, like botocore's standard mode.
    return float(random.uniform(0, min(EXTRA_MAX_DELAY, 0.5 * 2**attempts)))  # noqa: S311


def make_client(session: Any, service: str, region: str) -> Any:
    """A client with orgkit's retry policy: botocore's standard mode plus
    :data:`EXTRA_RETRYABLE`."""
    client = session.client(service, region_name=region, config=RETRY_CONFIG)
    client.meta.events.register(
        f"needs-retry.{client.meta.service_model.service_id.hyphenize()}", _retry_extra
    )
    return client


def error_code(exc: ClientError) -> str:
    """The AWS error code of a failed call."""
    return str(exc.response.get("Error", {}).get("Code", "Error"))


def aws_error(doing: str, exc: Exception, hint: str | None = None) -> AwsError:
    """One way to say that an AWS call failed: what orgkit was doing, AWS's code and message."""
    if isinstance(exc, CONNECTION_ERRORS):
        hint = endpoint_hint()
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        call = f"{exc.operation_name} " if getattr(exc, "operation_name", None) else ""
        detail = f"{call}{error.get('Code', 'Error')}: {error.get('Message', exc)}"
    else:
        detail = str(exc)
    return AwsError(f"{doing} failed: {detail}", hint=hint)


class AwsContext:
    """Credentials (standard chain, optional profile/region) and cached clients.

    ``AWS_ENDPOINT_URL`` is honoured by boto3 itself, which is how the sandbox and tests
    point orgkit at the emulator without any code path of their own.
    """

    def __init__(self, profile: str | None = None, region: str | None = None) -> None:
        try:
            self.session = boto3.Session(profile_name=profile, region_name=region)
        except ProfileNotFound:
            known = botocore.session.Session().available_profiles
            name = profile or os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE")
            variable = "AWS_PROFILE" if os.environ.get("AWS_PROFILE") else "AWS_DEFAULT_PROFILE"
            source = "" if profile else f" (from {variable})"
            raise AwsError(
                f"no AWS profile named {name!r}{source}{did_you_mean(name or '', known)}",
                hint=(
                    f"Profiles in ~/.aws/config and credentials: {', '.join(sorted(known))}."
                    if known
                    else "No profiles are configured (~/.aws/config)."
                )
                + " Create one with `aws configure` or `aws configure sso`.",
            ) from None
        except BotoCoreError as exc:
            raise AwsError(f"cannot open AWS session: {exc}") from exc
        self.region = self.session.region_name or "us-east-1"
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._caller: dict[str, str] | None = None
        self._members: Any = None
        # organization.read_role, for the reads inside member accounts of a read-only command
        # (plan, drift, project check): None, they go through the access role (apply).
        self.read_role: str | None = None
        # One pacer per run: every Organizations client shares its per-API buckets.
        self.pacer = Pacer()

    def read_members_through(self, role_name: str | None) -> None:
        """Make the reads inside member accounts (:meth:`MemberSessions.reader`) assume
        ``role_name`` rather than the access role (None: the access role)."""
        self.read_role = role_name

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
                try:
                    made = make_client(cast(Any, self.session), service, region)
                    if service == "organizations":
                        self.pacer.attach(made)
                    self._clients[key] = made
                except json.JSONDecodeError as exc:  # credential_process printed no JSON
                    raise AwsError(
                        f"the profile's credential_process did not print JSON credentials "
                        f"({exc.msg})",
                        hint="Run the credential_process of the profile by hand; it must print "
                        "the JSON that AWS documents for credential_process.",
                    ) from None
                except ValueError as exc:  # botocore: "Invalid endpoint: ..."
                    raise AwsError(
                        f"cannot make an AWS client for {service}: {exc}",
                        hint="AWS_ENDPOINT_URL (or the profile's endpoint_url) must be a URL "
                        "with its scheme, e.g. http://127.0.0.1:5000",
                    ) from None
            return self._clients[key]

    def _identity(self) -> dict[str, str]:
        """GetCallerIdentity, once."""
        if self._caller is None:
            try:
                self._caller = dict(self.client("sts").get_caller_identity())
            except NoCredentialsError as exc:
                raise AwsError(
                    "no AWS credentials found",
                    hint="Set AWS_PROFILE or pass --profile, or run `orgkit sandbox --serve`.",
                ) from exc
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in REJECTED_CREDENTIALS:
                    raise AwsError(
                        f"AWS rejected the credentials ({code})",
                        hint="They are wrong, expired or for another partition: refresh them "
                        "(`aws sso login`, or new keys), check AWS_PROFILE/--profile and "
                        "AWS_ACCESS_KEY_ID, then run `aws sts get-caller-identity` to see "
                        "who they are.",
                    ) from None
                raise AwsError(f"cannot identify the caller: {exc}") from exc
            except RuntimeError as exc:  # botocore: refreshed credentials still expired
                raise AwsError(
                    f"the AWS credentials are expired: {exc}",
                    hint="Refresh them (aws sso login, or the profile's credential_process), "
                    "then run orgkit again.",
                ) from None
        return self._caller

    def caller_arn(self) -> str:
        """The caller's ARN (user, assumed role session or root)."""
        return str(self._identity().get("Arn", ""))

    def caller_account_id(self) -> str:
        """The account the credentials belong to (one STS call, cached)."""
        return str(self._identity()["Account"])

    def caller_name(self) -> str:
        """Who is running orgkit, as IAM names allow it in a session name or source identity:
        the user name, the role session name of an assumed role (an SSO user's email, a CI
        job's session), or ``root``."""
        arn = str(self._identity().get("Arn", ""))
        resource = arn.split(":", 5)[-1]
        name = resource.rsplit("/", 1)[-1] or "root"
        cleaned = re.sub(r"[^\w+=,.@-]", "-", name)[:57]
        return cleaned if len(cleaned) >= 2 else "orgkit-caller"

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
