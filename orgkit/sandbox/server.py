"""Start moto's server on 127.0.0.1 and prepare an organization in it."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from orgkit.errors import OrgkitError

_boto3: Any = boto3  # clients by runtime service name, not the stubs' literals

# moto's default account: the caller with any fake credentials, and so the management account.
SANDBOX_MANAGEMENT_ACCOUNT_ID = "123456789012"
SANDBOX_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # The emulator has no rate limits: pacing at AWS's would only make every plan wait
    # (orgkit.live.pacing). The fault layer's users turn it back on.
    "ORGKIT_PACING": "off",
}


@dataclass(frozen=True)
class Sandbox:
    """A running emulator."""

    endpoint: str

    @property
    def env(self) -> dict[str, str]:
        """Environment that points boto3 (and so orgkit) at the sandbox."""
        return {**SANDBOX_ENV, "AWS_ENDPOINT_URL": self.endpoint}

    def client(self, service: str, **kwargs: Any) -> Any:
        """A raw boto3 client on the sandbox (for setting it up and checking it)."""
        return _boto3.client(
            service,
            endpoint_url=self.endpoint,
            **{"region_name": "us-east-1", **kwargs},
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - the emulator's fake credentials
        )

    def member_client(
        self,
        account_id: str,
        service: str,
        role: str = "OrganizationAccountAccessRole",
        region: str = "us-east-1",
    ) -> Any:
        """A raw boto3 client acting inside a member account (through its access role)."""
        credentials = self.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="sandbox"
        )["Credentials"]
        return _boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )

    def inventory(self, account_id: str) -> dict[str, list[str]]:
        """What stands in a member account (read with its own credentials), for people."""
        tables = self.member_client(account_id, "dynamodb").list_tables()["TableNames"]
        buckets = [
            b["Name"]
            for b in self.member_client(account_id, "s3").list_buckets().get("Buckets", [])
        ]
        roles = [r["RoleName"] for r in self.member_client(account_id, "iam").list_roles()["Roles"]]
        stacks = [
            s["StackName"]
            for s in self.member_client(account_id, "cloudformation").describe_stacks()["Stacks"]
        ]
        return {"stacks": stacks, "tables": tables, "buckets": buckets, "roles": roles}

    def organization_inventory(self, regions: list[str]) -> dict[str, Any]:
        """What stands organization-wide, read with raw boto3 from the management account:
        trails, trusted services, delegated administrators, GuardDuty and Security Hub
        administrators per region, and policies per type (name -> targets)."""
        org = self.client("organizations")
        trails = []
        for trail in self.client("cloudtrail").describe_trails()["trailList"]:
            status = self.client("cloudtrail").get_trail_status(Name=trail["TrailARN"])
            trails.append({**trail, "IsLogging": status.get("IsLogging", False)})
        delegated = {}
        for admin in org.list_delegated_administrators()["DelegatedAdministrators"]:
            services = org.list_delegated_services_for_account(AccountId=admin["Id"])
            for service in services["DelegatedServices"]:
                delegated[service["ServicePrincipal"]] = admin["Name"]
        admins = {}
        for region in regions:
            found = self.client("guardduty", region_name=region).list_organization_admin_accounts()
            admins[f"guardduty {region}"] = sorted(
                {a["AdminAccountId"] for a in found["AdminAccounts"]}
            )
            found = self.client(
                "securityhub", region_name=region
            ).list_organization_admin_accounts()
            admins[f"securityhub {region}"] = sorted(
                {a["AccountId"] for a in found["AdminAccounts"]}
            )
        enabled = org.list_roots()["Roots"][0].get("PolicyTypes", [])
        policies: dict[str, dict[str, list[str]]] = {}
        for kind in sorted(t["Type"] for t in enabled if t["Status"] == "ENABLED"):
            policies[kind] = {}
            for policy in org.list_policies(Filter=kind)["Policies"]:
                if policy.get("AwsManaged"):
                    continue
                targets = org.list_targets_for_policy(PolicyId=policy["Id"])["Targets"]
                policies[kind][policy["Name"]] = sorted(t["Name"] for t in targets)
        services = org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
        return {
            "trails": trails,
            "trusted": sorted(s["ServicePrincipal"] for s in services),
            "delegated": delegated,
            "admins": admins,
            "policies": policies,
        }

    def reset(self, seed: int | None = None) -> None:
        """Forget every resource (moto's reset API); a seed makes generated ids repeatable."""
        import urllib.request

        paths = ["/moto-api/reset"] + ([f"/moto-api/seed?a={seed}"] if seed is not None else [])
        for path in paths:
            # The endpoint is the sandbox's own http://127.0.0.1 server.
            request = urllib.request.Request(f"{self.endpoint}{path}", method="POST")  # noqa: S310
            with urllib.request.urlopen(request, timeout=10):  # noqa: S310
                pass

    def create_organization(self) -> str:
        """Create the organization with all features, as an admin would have; return its id."""
        org = self.client("organizations")
        return str(org.create_organization(FeatureSet="ALL")["Organization"]["Id"])


@contextmanager
def running_sandbox(port: int = 0) -> Iterator[Sandbox]:
    """Run moto's server on 127.0.0.1 (``port`` 0 picks a free one) for the block's duration."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise OrgkitError(
            "the sandbox needs moto's server, which is not installed",
            hint="pip install 'orgkit[sandbox]'",
        ) from exc
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    # moto warns for each CloudFormation type it skips; docs/sandbox.md lists them once.
    warnings.filterwarnings("ignore", category=UserWarning, module="moto.cloudformation")
    logging.getLogger("moto").setLevel(logging.ERROR)
    from orgkit.sandbox.extensions import install

    install()
    if port:
        # moto binds in its own thread and would wait forever on a taken port: check first.
        import socket

        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as exc:
                raise OrgkitError(
                    f"cannot start the sandbox on 127.0.0.1:{port}: {exc.strerror}",
                    hint="Choose another --port, or 0 for any free port.",
                ) from exc
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    try:
        yield Sandbox(endpoint=f"http://{host}:{bound}")
    finally:
        server.stop()


@contextmanager
def sandbox_environment(sandbox: Sandbox) -> Iterator[None]:
    """Point this process's boto3 at the sandbox, restoring the environment afterwards."""
    saved = {k: os.environ.get(k) for k in [*sandbox.env, "AWS_PROFILE"]}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(sandbox.env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
