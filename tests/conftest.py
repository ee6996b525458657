"""Shared fixtures: one moto server on 127.0.0.1 per test session, reset between tests.

orgkit reaches it over HTTP through boto3 (AWS_ENDPOINT_URL), the same path as real AWS.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from orgkit.sandbox.server import Sandbox, running_sandbox, sandbox_environment

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Sandbox]:
    """A moto server for the whole session, with this process pointed at it."""
    with running_sandbox(0) as box, sandbox_environment(box):
        yield box


@pytest.fixture
def sandbox(moto_server: Sandbox) -> Iterator[Sandbox]:
    """A fresh emulator with an organization whose management account is 123456789012."""
    moto_server.reset(seed=42)
    moto_server.create_organization()
    saved = {k: os.environ.get(k) for k in moto_server.env}
    os.environ.update(moto_server.env)
    yield moto_server
    for key, value in saved.items():
        if value is not None:
            os.environ[key] = value


@pytest.fixture
def seed_dir(tmp_path: Path) -> Path:
    """A copy of the repository's seed org.yaml, scps/, policies/ and templates/ to edit
    freely."""
    shutil.copy(REPO / "org.yaml", tmp_path / "org.yaml")
    shutil.copytree(REPO / "scps", tmp_path / "scps")
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    if (REPO / "templates").exists():
        shutil.copytree(REPO / "templates", tmp_path / "templates")
    return tmp_path


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every AWS operation orgkit's AwsContext clients make, in order ("organizations.X")."""
    from orgkit.live.session import AwsContext

    calls: list[str] = []
    original = AwsContext.client

    def client(self: AwsContext, service: str, region: str | None = None) -> object:
        made = original(self, service, region)
        if not getattr(made, "_orgkit_recorded", False):

            def record(model: object, **_: object) -> None:
                calls.append(f"{service}.{model.name}")  # type: ignore[attr-defined]

            made.meta.events.register("before-call.*.*", record)
            made._orgkit_recorded = True
        return made

    monkeypatch.setattr(AwsContext, "client", client)
    return calls
