"""Errors a user meets first: unknown profiles, rejected credentials, YAML in plain words."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.stub import Stubber

from orgkit.config import load_config
from orgkit.errors import AwsError, ConfigError
from orgkit.live import AwsContext


@pytest.mark.parametrize("code", ["InvalidClientTokenId", "ExpiredToken", "SignatureDoesNotMatch"])
def test_rejected_credentials_say_so_with_a_hint(
    code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    aws = AwsContext(region="us-east-1")
    sts = aws.client("sts")
    with Stubber(sts) as stub:
        stub.add_client_error("get_caller_identity", service_error_code=code, http_status_code=403)
        with pytest.raises(AwsError) as caught:
            aws.caller_account_id()
    assert caught.value.message == f"AWS rejected the credentials ({code})"
    assert "aws sts get-caller-identity" in (caught.value.hint or "")


def test_unknown_profile_names_the_nearest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    config.write_text("[profile delatsi-mgmt]\nregion = us-east-1\n[profile other]\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    with pytest.raises(AwsError) as caught:
        AwsContext(profile="delatsi-mgm")
    assert caught.value.message == (
        "no AWS profile named 'delatsi-mgm' (did you mean 'delatsi-mgmt'?)"
    )
    assert "delatsi-mgmt, other" in (caught.value.hint or "")
    monkeypatch.setenv("AWS_PROFILE", "nope")
    with pytest.raises(AwsError) as from_env:
        AwsContext()
    assert from_env.value.message == "no AWS profile named 'nope' (from AWS_PROFILE)"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a:\n  b: [1, 2\n  c: 3\n", 2, "a list opened with '[' is not closed"),
        (
            "a:\n  b: 1\n c: 2\n",
            3,
            "indented differently from the keys of the mapping that starts on line 1",
        ),
        ('a: "open\nb: 1\n', 1, "a quote is never closed"),
        ("a:\n\tb: 1\n", 2, "a tab: YAML indents with spaces only"),
        ("a: b: c\n", 1, "quote a value that contains ': '"),
    ],
    ids=["unclosed-list", "indentation", "unclosed-quote", "tab", "colon-in-value"],
)
def test_yaml_syntax_in_plain_words(tmp_path: Path, text: str, line: int, words: str) -> None:
    (tmp_path / "org.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "org.yaml")
    (issue,) = caught.value.issues
    assert issue.line == line
    assert issue.message.startswith("invalid YAML: ")
    assert words in issue.message
    assert "(YAML: " in issue.message  # PyYAML's own words stay, after the plain ones
