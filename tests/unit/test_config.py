"""Loading org.yaml: the seed loads, and every case under bad/ fails with the expected issues.

A bad case is a folder ``bad/<case-name>/`` with an ``org.yaml`` (and SCP files if it needs
them) and an ``expected.txt``: one substring per line, each of which must appear in one of the
ConfigError's issues as printed (``file:line: field: message``).
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from orgkit.config.loader import load_config
from orgkit.errors import ConfigError, ConfigIssue, OrgkitError

HERE = Path(__file__).parent
BAD = HERE / "bad"
REPO = HERE.parents[1]
BAD_CASES = sorted(p for p in BAD.iterdir() if p.is_dir()) if BAD.is_dir() else []


def test_bad_corpus_is_not_empty() -> None:
    assert len(BAD_CASES) >= 20
    for case in BAD_CASES:
        assert (case / "org.yaml").is_file(), case.name
        assert (case / "expected.txt").read_text().strip(), case.name


@pytest.mark.parametrize("case_dir", BAD_CASES, ids=[p.name for p in BAD_CASES])
def test_bad_config(case_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case_dir)
    expected = [line for line in (case_dir / "expected.txt").read_text().splitlines() if line]

    with pytest.raises(ConfigError) as caught:
        load_config("org.yaml")

    issues = [str(issue) for issue in caught.value.issues]
    for line in expected:
        assert any(line in issue for issue in issues), f"{line!r} not in {issues}"


def test_seed_org_loads_cleanly() -> None:
    config = load_config(REPO / "org.yaml")

    spec = config.spec
    assert spec.organization.management_account_id == "123456789012"
    assert set(config.policies) == {p.name for p in spec.policies if p.state == "present"}
    assert [path for path, _, _ in spec.walk_ous()] == [
        "/Security",
        "/Production",
        "/Non-Production",
        "/Sandbox",
    ]
    assert len(spec.accounts) == 10
    for document in config.policies.values():
        assert document.size <= spec.quotas.policy_max_characters(document.type)
    assert {d.type for d in config.policies.values()} == {
        "service_control",
        "resource_control",
        "tag",
        "backup",
        "aiservices_opt_out",
    }
    guard = config.policies["sandbox-cost-guard"].document
    assert guard["Statement"][0]["Condition"]["StringNotEquals"]["ec2:InstanceType"] == [
        "t3.nano",
        "t3.micro",
        "t3.small",
        "t4g.nano",
        "t4g.micro",
        "t4g.small",
    ]


def test_seed_copy_loads_from_another_directory(seed_dir: Path) -> None:
    config = load_config(seed_dir / "org.yaml")

    assert config.base_dir == seed_dir
    assert "restrict-regions" in config.policies


def test_config_error_message_lists_every_issue() -> None:
    issues = [
        ConfigIssue("org.yaml", 12, "accounts[1].email", "duplicate account email"),
        ConfigIssue("scps/a.json", None, "", "policy 'a': file not found"),
        ConfigIssue("org.yaml", 3, "", "invalid YAML: oops"),
    ]

    error = ConfigError(issues)

    assert isinstance(error, OrgkitError)
    assert error.message.startswith("3 problems in the configuration:")
    for issue in issues:
        assert f"  {issue}" in error.message
    assert [str(i) for i in error.issues] == [
        "org.yaml:3: invalid YAML: oops",
        "org.yaml:12: accounts[1].email: duplicate account email",
        "scps/a.json: policy 'a': file not found",
    ]
    assert error.hint and "orgkit validate" in error.hint
    assert str(error) == error.message


def test_config_error_singular() -> None:
    error = ConfigError([ConfigIssue("org.yaml", 1, "", "the file is empty")])

    assert error.message.startswith("1 problem in the configuration:")


def test_loaded_error_message_lists_every_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD / "several-errors-at-once")

    with pytest.raises(ConfigError) as caught:
        load_config("org.yaml")

    error = caught.value
    assert len(error.issues) == 4
    assert error.message.startswith("4 problems")
    for issue in error.issues:
        assert str(issue) in error.message


def test_missing_org_yaml(tmp_path: Path) -> None:
    with pytest.raises(OrgkitError) as caught:
        load_config(tmp_path / "org.yaml")

    assert caught.value.message == f"no org.yaml in {tmp_path.resolve()}"
    assert "--config PATH" in (caught.value.hint or "")


def test_absent_policy_file_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "org.yaml").write_text(
        textwrap.dedent("""\
        version: 1
        organization:
          name: Test Org
          management_account_id: "123456789012"
        policies:
          - name: retired
            file: scps/long-gone.json
            state: absent
        """)
    )

    config = load_config(tmp_path / "org.yaml")

    assert config.policies == {}


def test_template_sees_vars_and_organization(tmp_path: Path) -> None:
    (tmp_path / "scps").mkdir()
    (tmp_path / "scps" / "t.json.j2").write_text(
        textwrap.dedent("""\
        {"Statement": [{"Effect": "Deny", "Action": {{ vars.actions | tojson }},
          "Resource": "arn:aws:iam::*:role/{{ organization.access_role }}",
          "Sid": "{{ sid }}"}]}
        """)
    )
    (tmp_path / "org.yaml").write_text(
        textwrap.dedent("""\
        version: 1
        organization:
          name: Test Org
          management_account_id: "123456789012"
          access_role: Admin
        vars:
          actions: [s3:DeleteBucket]
          sid: Guard
        policies:
          - name: t
            file: scps/t.json.j2
        """)
    )

    document = load_config(tmp_path / "org.yaml").policies["t"].document

    assert document["Statement"][0] == {
        "Effect": "Deny",
        "Action": ["s3:DeleteBucket"],
        "Resource": "arn:aws:iam::*:role/Admin",
        "Sid": "Guard",
    }


def test_bad_case_dirs_are_self_contained(tmp_path: Path) -> None:
    """A case copied elsewhere fails the same way: nothing outside its folder is used."""
    case = BAD / "scp-undefined-variable"
    shutil.copytree(case, tmp_path / case.name)

    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / case.name / "org.yaml")

    expected = (case / "expected.txt").read_text().strip()
    assert [str(i) for i in caught.value.issues] == [expected]


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "p.json").write_text('{"Version": "2012-10-17", "Statement": []}')
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "scps").symlink_to(outside)
    (repo / "org.yaml").write_text(
        textwrap.dedent("""\
            version: 1
            organization: {name: T, management_account_id: "123456789012"}
            policies:
              - {name: p, file: scps/p.json}
            """)
    )
    with pytest.raises(ConfigError) as caught:
        load_config(repo / "org.yaml")
    assert "org.yaml:4: policies[\"p\"].file: policy 'p': scps/p.json leads outside" in str(
        caught.value.issues[0]
    ).replace(str(repo) + "/", "")


def test_an_include_through_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    """A committed symlink (scps/env -> a file outside) included by a template would put that
    file into a plan, and a plan shows a new SCP's content."""
    secret = tmp_path / "secret.txt"
    secret.write_text("AWS_SECRET_ACCESS_KEY=leaked")
    repo = tmp_path / "repo"
    (repo / "scps").mkdir(parents=True)
    (repo / "scps" / "env").symlink_to(secret)
    (repo / "scps" / "p.json.j2").write_text(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*",\n'
        '  "Resource": "*", "Sid": "{% include "scps/env" %}"}]}\n'
    )
    (repo / "org.yaml").write_text(
        textwrap.dedent("""\
            version: 1
            organization: {name: T, management_account_id: "123456789012"}
            policies:
              - {name: p, file: scps/p.json.j2}
            """)
    )
    with pytest.raises(ConfigError) as caught:
        load_config(repo / "org.yaml")
    message = str(caught.value.issues[0])
    assert "scps/p.json.j2:2: cannot include scps/env (outside the folder of org.yaml)" in message
    assert "leaked" not in caught.value.message
