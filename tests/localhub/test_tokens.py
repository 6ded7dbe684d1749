"""Tokens on the local Hub: read and write roles, organisations, whoami, and ``hub serve --token``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from gmm_hub.cli import main
from gmm_hub.localhub import LocalHub
from gmm_hub.localhub._access import (
    TokenSpecError,
    find_token,
    parse_org_option,
    parse_token_option,
    token_table,
    write_refusal,
)


def test_token_table_reads_roles_and_several_tokens_per_user():
    table = token_table({"alice": ["w-secret", "r-secret:read"], "carol": "c-secret:write"})
    assert [(t.user, t.role) for t in table] == [("alice", "write"), ("alice", "read"), ("carol", "write")]
    assert find_token(table, "r-secret").role == "read" and find_token(table, "nope") is None
    assert "r-secret" not in repr(table)


def test_token_table_refuses_a_token_shared_by_two_users():
    with pytest.raises(TokenSpecError, match="same token") as info:
        token_table({"alice": "shared", "bob": "shared"})
    assert "shared" not in str(info.value).replace("same token", "")


def test_write_refusal_covers_anonymous_read_tokens_and_foreign_namespaces():
    write, read = token_table({"alice": ["w", "r:read"]})
    orgs = {"acme": ["alice"]}
    assert write_refusal(None, "alice", orgs)[0] == 401
    assert write_refusal(write, "alice", orgs) is None and write_refusal(write, "acme", orgs) is None
    assert write_refusal(write, "bob", orgs)[0] == 403
    status, message = write_refusal(read, "alice", orgs)
    assert status == 403 and "read token" in message


def test_parse_options_never_echo_the_secret():
    assert parse_token_option("alice=s3cret:read") == ("alice", "s3cret:read")
    with pytest.raises(TokenSpecError, match="USER=TOKEN") as info:
        parse_token_option("alice-s3cret")
    assert "s3cret" not in str(info.value)
    assert parse_org_option("acme=alice, bob") == ("acme", ["alice", "bob"])
    with pytest.raises(TokenSpecError, match="ORG=USER"):
        parse_org_option("acme")


# ----------------------------------------------------------------------------- through the client
GMM_HUB_CLI = Path(sys.executable).with_name("gmm-hub")
TOKENS = {"alice": ["hf_alice_write_token", "hf_alice_read_token:read"], "bob": "hf_bob_write_token"}


@pytest.fixture
def hub(tmp_path):
    with LocalHub(tmp_path / "root", tokens=TOKENS, orgs={"acme": ["alice"]}) as hub:
        yield hub


def _api(hub, token):
    return HfApi(endpoint=hub.url, token=token)


def test_whoami_reports_the_role_and_the_organisations(hub):
    write = _api(hub, "hf_alice_write_token").whoami()
    read = _api(hub, "hf_alice_read_token").whoami()
    assert write["name"] == read["name"] == "alice"
    assert write["auth"]["accessToken"]["role"] == "write" and read["auth"]["accessToken"]["role"] == "read"
    assert [org["name"] for org in write["orgs"]] == ["acme"]
    assert _api(hub, "hf_bob_write_token").whoami()["orgs"] == []


def test_a_read_token_reads_but_cannot_push(hub):
    write, read = _api(hub, "hf_alice_write_token"), _api(hub, "hf_alice_read_token")
    write.create_repo("alice/private-gmm", private=True)
    assert read.model_info("alice/private-gmm").private is True  # it sees its user's private repos
    refusals = {
        "create": lambda: read.create_repo("alice/other"),
        "upload": lambda: read.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/private-gmm"),
        "branch": lambda: read.create_branch("alice/private-gmm", branch="dev"),
        "settings": lambda: read.update_repo_settings("alice/private-gmm", private=False),
        "delete": lambda: read.delete_repo("alice/private-gmm"),
        "auth_check(write=True)": lambda: read.auth_check("alice/private-gmm", write=True),
    }
    for what, call in refusals.items():
        with pytest.raises(HfHubHTTPError, match="is a read token: it cannot write") as info:
            call()
        assert info.value.response.status_code == 403, what
    read.auth_check("alice/private-gmm")  # it may read
    write.auth_check("alice/private-gmm", write=True)
    assert write.list_repo_files("alice/private-gmm") == [".gitattributes"]
    assert write.model_info("alice/private-gmm").private is True


def test_organisation_members_write_and_see_private_repos(hub):
    alice, bob = _api(hub, "hf_alice_write_token"), _api(hub, "hf_bob_write_token")
    alice.create_repo("acme/team-gmm", private=True)
    alice.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="acme/team-gmm")
    assert [m.id for m in alice.list_models(author="acme")] == ["acme/team-gmm"]
    with pytest.raises(RepositoryNotFoundError):
        bob.model_info("acme/team-gmm")
    with pytest.raises(HfHubHTTPError, match="rights to write to the namespace 'acme'"):
        bob.create_repo("acme/bobs")
    with pytest.raises(HfHubHTTPError, match="is a read token"):
        _api(hub, "hf_alice_read_token").create_repo("acme/read-only")


def test_hub_serve_takes_read_tokens_and_organisations(tmp_path):
    env = {**os.environ, "GMM_HUB_SERVE_TOKENS": "alice=hf_cli_write alice=hf_cli_read:read"}
    proc = subprocess.Popen(
        [str(GMM_HUB_CLI), "hub", "serve", "--port", "0", "--root", str(tmp_path / "root"), "--org", "acme=alice"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        who = HfApi(endpoint=url, token="hf_cli_read").whoami()
        assert who["auth"]["accessToken"]["role"] == "read" and [o["name"] for o in who["orgs"]] == ["acme"]
        with pytest.raises(HfHubHTTPError, match="read token"):
            HfApi(endpoint=url, token="hf_cli_read").create_repo("alice/x")
        HfApi(endpoint=url, token="hf_cli_write").create_repo("acme/x")
        assert "hf_cli_" not in line
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "hf_cli_write" not in err and "hf_cli_read" not in err


def test_hub_serve_refuses_a_malformed_token_option_in_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["hub", "serve", "--token", "alice-hf_cli_secret"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "USER=TOKEN" in err and "hf_cli_secret" not in err


def test_check_write_still_takes_a_user_name():
    from gmm_hub.localhub._auth import check_write
    from gmm_hub.localhub._errors import HubError

    check_write("alice", "alice")
    for user, status in ((None, 401), ("bob", 403)):
        with pytest.raises(HubError) as info:
            check_write(user, "alice")
        assert info.value.status == status


def test_git_push_with_a_read_token_is_refused(hub, tmp_path):
    _api(hub, "hf_alice_write_token").create_repo("alice/pushed")
    host = hub.url.removeprefix("http://")
    clone = tmp_path / "clone"
    git = ["git", "-c", "user.name=a", "-c", "user.email=a@example.org"]
    subprocess.run(
        [*git, "clone", "-q", f"http://alice:hf_alice_read_token@{host}/alice/pushed", str(clone)], check=True
    )
    (clone / "notes.txt").write_text("hello\n")
    subprocess.run([*git, "add", "notes.txt"], cwd=clone, check=True)
    subprocess.run([*git, "commit", "-qm", "notes"], cwd=clone, check=True)
    push = subprocess.run([*git, "push", "-q", "origin", "main"], cwd=clone, capture_output=True, text=True)
    assert push.returncode != 0 and "403" in push.stderr
    assert _api(hub, "hf_alice_write_token").list_repo_files("alice/pushed") == [".gitattributes"]
