"""Broken environments and arguments, fed to every command: each is a one-line error and a
hint with exit code 1, never a Python traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from orgkit.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
COMMANDS = [
    ["validate"],
    ["plan"],
    ["plan", "--json"],
    ["apply", "--yes"],
    ["drift"],
    ["render", "--no-lint"],
    ["graph"],
    ["costs"],
]
EXPIRED = (
    '#!/bin/sh\necho \'{"Version": 1, "AccessKeyId": "a", "SecretAccessKey": "b", '
    '"SessionToken": "c", "Expiration": "2000-01-01T00:00:00Z"}\'\n'
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("scps", "policies", "templates"):
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "org.yaml", tmp_path / "org.yaml")
    (tmp_path / "expired.sh").write_text(EXPIRED)
    (tmp_path / "expired.sh").chmod(0o755)
    (tmp_path / "aws-config").write_text(
        "[profile garbage]\ncredential_process = /bin/echo not-json\n"
        f"[profile expired]\ncredential_process = {tmp_path / 'expired.sh'}\n"
    )
    (tmp_path / "latin1.yaml").write_bytes("name: Zürich\n".encode("latin-1"))
    return tmp_path


def clean_env(folder: Path) -> dict[str, str | None]:
    return {
        "AWS_CONFIG_FILE": str(folder / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(folder / "no-credentials"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_ENDPOINT_URL": None,
        "AWS_DEFAULT_REGION": "us-east-1",
    }


CASES: dict[str, tuple[dict[str, str | None], list[str], str]] = {
    "endpoint-without-scheme": ({"AWS_ENDPOINT_URL": "127.0.0.1:5999"}, [], "must be a URL"),
    "credential-process-not-json": (
        {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None},
        ["--profile", "garbage"],
        "did not print JSON credentials",
    ),
    "credentials-expired": (
        {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None},
        ["--profile", "expired"],
        "credentials are expired",
    ),
    "unknown-profile": ({}, ["--profile", "nosuch"], "no AWS profile named 'nosuch'"),
    "org-yaml-not-utf8": ({}, ["--config", "latin1.yaml"], "not UTF-8 text"),
    "no-org-yaml": ({}, ["--config", "nowhere.yaml"], "no nowhere.yaml in"),
}


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
@pytest.mark.parametrize("case", list(CASES))
def test_broken_environment(
    folder: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], case: str
) -> None:
    env, options, message = CASES[case]
    needs_aws = command[0] not in ("validate", "render")
    if not needs_aws and case not in ("org-yaml-not-utf8", "no-org-yaml"):
        pytest.skip("an offline command does not touch AWS")
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(cli, [*options, *command], env={**clean_env(folder), **env})
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "error:" in result.stderr.lower()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["sandbox", "--port", "99999"], "is not in the range"),
        (["sandbox", "--port", "-1"], "is not in the range"),
        (["plan", "--out", "no/such/folder/plan.json"], "does not exist"),
        (["render", "--no-lint", "--out", "/proc/orgkit"], "cannot write the rendered templates"),
        (["plan", "--no-such-option"], "No such option"),
        (["frobnicate"], "No such command"),
        (["apply", "--plan", "missing.json", "--yes"], "no such plan file"),
    ],
)
def test_broken_arguments(
    folder: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], message: str
) -> None:
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(cli, arguments, env=clean_env(folder))
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 1, result.output
    assert message in result.output


def test_an_unreachable_endpoint_is_said_while_retrying_and_named_at_the_end(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    import botocore.config

    from orgkit.live import session

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(session, "MAX_ATTEMPTS", 2)
    monkeypatch.setattr(
        session,
        "RETRY_CONFIG",
        botocore.config.Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=1),
    )
    monkeypatch.chdir(folder)
    endpoint = f"http://127.0.0.1:{port}"
    result = CliRunner().invoke(
        cli, ["plan"], env={**clean_env(folder), "AWS_ENDPOINT_URL": endpoint}
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"cannot reach {endpoint} (AWS_ENDPOINT_URL={endpoint}); retrying (1 of 2" in (
        result.stderr
    )
    assert "Could not connect to the endpoint URL" in result.stderr
    assert f"The endpoint comes from AWS_ENDPOINT_URL={endpoint}" in result.stderr


@pytest.mark.parametrize(
    "file",
    ["scps/deny-root-user.json", "policies/ai-opt-out.json", "scps/restrict-regions.json.j2"],
)
def test_a_policy_file_that_is_not_utf8_is_named(folder: Path, file: str) -> None:
    """Beyond org.yaml: a policy file (plain or jinja2) with latin-1 bytes is an error naming
    the file, not a traceback."""
    path = folder / file
    path.write_bytes(path.read_bytes().replace(b"{", '{ "Sid": "Zürich",'.encode("latin-1"), 1))
    result = CliRunner().invoke(
        cli, ["--config", str(folder / "org.yaml"), "validate", "--no-lint"], env=clean_env(folder)
    )
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 1, result.output
    assert f"{file}: not UTF-8 text (byte 0xfc)" in result.stderr, result.stderr
