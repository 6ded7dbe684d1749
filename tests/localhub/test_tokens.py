"""Tokens on the local Hub: read and write roles, organisations, whoami, and ``hub serve --token``."""

from __future__ import annotations

import pytest

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
