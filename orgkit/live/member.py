"""Sessions inside member accounts: one AssumeRole per account per run, refreshed on expiry.

Each session says who ran orgkit, so CloudTrail in the member account ties a change to a
person: the role session name is ``orgkit-<caller>`` and the session's source identity is the
caller (the IAM user name, or the session name of the caller's own role session, such as an SSO
user's email). Setting a source identity needs ``sts:SetSourceIdentity`` in the access role's
trust policy, which AWS's default OrganizationAccountAccessRole lacks; where the role refuses it,
orgkit assumes it with the session name alone.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast

import boto3
import botocore.session
from botocore.credentials import CredentialResolver, RefreshableCredentials
from botocore.exceptions import ClientError

from orgkit.errors import AwsError
from orgkit.live.session import AwsContext, make_client

SESSION_PREFIX = "orgkit-"
SESSION_SECONDS = 3600
CLIENTS_KEPT = 64  # member-account clients kept for reuse (twice the readers at once)


class MemberSessions:
    """Cached, self-refreshing sessions for the role orgkit assumes in each member account."""

    def __init__(self, aws: AwsContext, sleep: Callable[[float], None] = time.sleep) -> None:
        self.aws = aws
        self.sleep = sleep
        # (account, role) -> the credentials of its AssumeRole, refreshed on expiry, kept for the
        # run (one AssumeRole per account per run).
        self._credentials: dict[tuple[str, str], RefreshableCredentials] = {}
        self._no_source_identity: set[str] = set()  # role ARNs that refuse SetSourceIdentity
        # (account, role, service@region) -> client, the most recently used last. A botocore
        # client holds about 0.4 MB (its class, its copy of the event hooks): 1000 accounts'
        # clients kept for the whole run would cost 400 MB, so only the latest are kept.
        self._clients: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        # One botocore session makes every member-account client, each with its account's
        # credentials. A session per account holds its own event hooks and component registry
        # (about 0.15 MB: 150 MB at 1000 accounts, measured) and would parse the service models
        # again; a session is not thread-safe, so clients are made under ``_making``.
        self._core = botocore.session.Session()
        # No credential chain of its own: a client made without an account's credentials gets
        # none (its calls fail), never the management account's from the environment.
        self._core.register_component("credential_provider", CredentialResolver([]))
        self._shared = boto3.Session(botocore_session=self._core, region_name=aws.region)
        self._making = threading.Lock()
        self._lock = threading.Lock()

    def client(
        self,
        account_id: str,
        role_name: str,
        service: str,
        *,
        new_account: bool = False,
        region: str | None = None,
    ) -> Any:
        """A client acting inside ``account_id`` as ``role_name`` (in ``region``, or the
        context's).

        ``new_account`` waits for the access role of an account created moments ago, which
        AWS may not let anyone assume for a little while.
        """
        region = region or self.aws.region
        key = (account_id, role_name, f"{service}@{region}")
        with self._lock:
            if key in self._clients:
                self._clients.move_to_end(key)
                return self._clients[key]
        credentials = self._account_credentials(account_id, role_name, new_account)
        with self._making:
            # botocore has no public way to give one client credentials that refresh: the
            # shared session holds this account's while it makes the client, whose request
            # signer keeps them (and refreshes them on expiry) for its life.
            self._core._credentials = credentials  # type: ignore[attr-defined]
            try:
                made = make_client(cast(Any, self._shared), service, region)
            finally:
                self._core._credentials = None  # type: ignore[attr-defined]
        with self._lock:
            made = self._clients.setdefault(key, made)
            while len(self._clients) > CLIENTS_KEPT:
                self._clients.popitem(last=False)
            return made

    def reader(
        self, account_id: str, access_role: str, service: str, *, region: str | None = None
    ) -> Any:
        """A client for reads inside ``account_id``: as the read role when the command reads
        through it (:meth:`AwsContext.read_members_through`), else as ``access_role``."""
        return self.client(account_id, self.aws.read_role or access_role, service, region=region)

    def _account_credentials(
        self, account_id: str, role_name: str, new_account: bool
    ) -> RefreshableCredentials:
        """The credentials of ``role_name`` in ``account_id``: one AssumeRole, then cached."""
        with self._lock:
            if (account_id, role_name) in self._credentials:
                return self._credentials[(account_id, role_name)]
        arn = f"arn:aws:iam::{account_id}:role/{role_name}"
        sts = self.aws.client("sts")
        caller = self.aws.caller_name()

        def assume() -> dict[str, Any]:
            kwargs: dict[str, Any] = {
                "RoleArn": arn,
                "RoleSessionName": SESSION_PREFIX + caller,
                "DurationSeconds": SESSION_SECONDS,
            }
            if arn not in self._no_source_identity:
                try:
                    return dict(sts.assume_role(**kwargs, SourceIdentity=caller))
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "AccessDenied":
                        raise
                    # The role's trust policy may not allow sts:SetSourceIdentity; if it
                    # lets us in without one, remember that and carry the session name only.
                    response = dict(sts.assume_role(**kwargs))
                    self._no_source_identity.add(arn)
                    return response
            return dict(sts.assume_role(**kwargs))

        def fetch() -> dict[str, str]:
            credentials = assume()["Credentials"]
            return {
                "access_key": credentials["AccessKeyId"],
                "secret_key": credentials["SecretAccessKey"],
                "token": credentials["SessionToken"],
                "expiry_time": credentials["Expiration"].isoformat(),
            }

        metadata = self._first_credentials(fetch, arn, new_account)
        credentials = RefreshableCredentials.create_from_metadata(
            metadata=metadata, refresh_using=fetch, method="sts-assume-role"
        )
        with self._lock:
            return self._credentials.setdefault((account_id, role_name), credentials)

    def _first_credentials(
        self, fetch: Callable[[], dict[str, str]], arn: str, new_account: bool
    ) -> dict[str, str]:
        attempts = 8 if new_account else 1
        delay = 2.0
        for attempt in range(attempts):
            try:
                return fetch()
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                if code == "AccessDenied" and attempt + 1 < attempts:
                    self.sleep(delay)
                    delay = min(delay * 2, 30.0)
                    continue
                if arn.endswith(f":role/{self.aws.read_role}"):
                    raise AwsError(
                        f"cannot read inside account {arn.split(':')[4]}: its read role "
                        f"{self.aws.read_role} cannot be assumed ({code})",
                        hint="organization.read_role is declared, so plan, drift and project "
                        "check/samconfig read member accounts through it. If the role is not "
                        "there yet (declared since the last apply, or the account was created "
                        "outside orgkit), run `orgkit apply` with administrator credentials "
                        "(it creates the role through the access role). Otherwise check that "
                        "its trust lets the caller in (read_role.principal_arns) and that the "
                        "caller may sts:AssumeRole it.",
                    ) from exc
                raise AwsError(
                    f"cannot assume {arn}: {code}: {exc.response['Error'].get('Message', '')}",
                    hint="orgkit works inside member accounts through this role; check that "
                    "it exists and trusts the management account (access_role in org.yaml).",
                ) from exc
        raise AssertionError("unreachable")
