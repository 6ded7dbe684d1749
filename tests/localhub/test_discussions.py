"""Discussions through the unmodified client: open, comment, edit, hide, rename, close, and their pages."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import warnings

import httpx2
import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.errors import HfHubHTTPError

from gmm_hub.localhub._pulls import HIDDEN, MAX_COMMENT, PULLS_DIR
from gmm_hub.localhub._server import LocalHub

TOKENS = {"alice": ["hf_alice_write_token", "hf_alice_read_token:read"], "bob": "hf_bob_write_token"}


@pytest.fixture
def hub(tmp_path):
    with LocalHub(tmp_path / "root", tokens=TOKENS) as hub:
        HfApi(endpoint=hub.url, token="hf_alice_write_token").create_repo("alice/demo")
        yield hub


def _api(hub, token: str | bool = "hf_alice_write_token") -> HfApi:
    return HfApi(endpoint=hub.url, token=token)


def _status(call) -> int:
    with pytest.raises(HfHubHTTPError) as err:
        call()
    return err.value.response.status_code


def test_a_discussion_is_opened_commented_edited_renamed_and_closed(hub):
    alice, bob = _api(hub), _api(hub, "hf_bob_write_token")
    opened = bob.create_discussion("alice/demo", title=" A question ", description="Does it **work**?")
    assert (opened.num, opened.title, opened.author, opened.is_pull_request) == (1, "A question", "bob", False)
    assert opened.target_branch is None and opened.status == "open"
    (description,) = opened.events
    assert opened.created_at <= description.created_at  # opened, then its description
    assert (description.type, description.content) == ("comment", "Does it **work**?")
    assert description.rendered == "<p>Does it <strong>work</strong>?</p>\n"

    answer = alice.comment_discussion("alice/demo", 1, "Yes")
    assert (answer.author, answer.content, answer.edited, answer.number_of_edits) == ("alice", "Yes", False, 0)
    edited = alice.edit_discussion_comment("alice/demo", 1, answer.id, "Yes, it does")
    assert (edited.id, edited.content, edited.edited, edited.number_of_edits) == (answer.id, "Yes, it does", True, 1)
    assert [version["raw"] for version in edited.edit_history] == ["Yes"]
    assert _status(lambda: bob.edit_discussion_comment("alice/demo", 1, answer.id, "No")) == 403

    renamed = bob.rename_discussion("alice/demo", 1, "A question about it")
    assert (renamed.old_title, renamed.new_title, renamed.author) == ("A question", "A question about it", "bob")
    closed = bob.change_discussion_status("alice/demo", 1, "closed", comment="Thanks!")
    assert (closed.new_status, closed.author) == ("closed", "bob")

    details = alice.get_discussion_details("alice/demo", 1)
    assert (details.title, details.status) == ("A question about it", "closed")
    assert [(e.type, e.author) for e in details.events] == [
        ("comment", "bob"),
        ("comment", "alice"),
        ("title-change", "bob"),
        ("comment", "bob"),
        ("status-change", "bob"),
    ]
    assert details.events[1].content == "Yes, it does"  # the edit, where the comment was posted
    assert _status(lambda: alice.merge_pull_request("alice/demo", 1)) == 400  # no code to merge


def test_a_comment_is_hidden_by_its_author_or_the_repos_writers_and_loses_its_text(hub):
    alice, bob = _api(hub), _api(hub, "hf_bob_write_token")
    alice.create_repo("alice/other")
    num = bob.create_discussion("alice/demo", title="Spam").num
    spam = bob.comment_discussion("alice/demo", num, "buy now")
    mine = alice.comment_discussion("alice/demo", num, "no")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the client warns that hiding cannot be undone
        assert _status(lambda: bob.hide_discussion_comment("alice/demo", num, mine.id)) == 403
        hidden = alice.hide_discussion_comment("alice/demo", num, spam.id)  # the repo's owner moderates
    assert (hidden.hidden, hidden.content, hidden.edit_history) == (True, HIDDEN, [])
    assert "buy now" not in json.dumps(alice.get_discussion_details("alice/demo", num).events[-2]._event)
    record = (hub.root / "repos" / "models" / "alice" / "demo.git" / PULLS_DIR / f"{num}.json").read_text()
    assert "buy now" not in record and '"html"' not in record  # no stored markup: HTML is made when served
    assert _status(lambda: bob.edit_discussion_comment("alice/demo", num, spam.id, "again")) == 400
    assert _status(lambda: bob.edit_discussion_comment("alice/demo", num, "0" * 24, "x")) == 404


def test_discussions_and_pull_requests_share_numbers_and_filter_by_type(hub):
    alice, bob = _api(hub), _api(hub, "hf_bob_write_token")
    assert bob.create_discussion("alice/demo", title="first").num == 1
    info = bob.create_commit(
        "alice/demo", operations=[CommitOperationAdd("a.txt", b"a")], commit_message="add a", create_pr=True
    )
    assert info.pr_num == 2
    assert bob.create_pull_request("alice/demo", title="empty").num == 3
    assert alice.create_discussion("alice/demo", title="fourth").num == 4
    assert [d.num for d in alice.get_repo_discussions("alice/demo")] == [4, 3, 2, 1]
    assert [d.num for d in alice.get_repo_discussions("alice/demo", discussion_type="discussion")] == [4, 1]
    assert [d.num for d in alice.get_repo_discussions("alice/demo", discussion_type="pull_request")] == [3, 2]
    listed = {d.num: d for d in alice.get_repo_discussions("alice/demo")}
    assert listed[1].is_pull_request is False and listed[2].is_pull_request is True
    response = httpx2.get(f"{hub.url}/api/models/alice/demo/discussions", params={"type": "issues"})
    assert response.status_code == 400 and "'issues'" in response.text


def test_a_pull_requests_events_keep_the_order_they_happened_in_within_one_second(hub):
    alice, bob = _api(hub), _api(hub, "hf_bob_write_token")
    pr = bob.create_pull_request("alice/demo", title="weights", description="please")
    bob.upload_file(path_or_fileobj=b"w", path_in_repo="w.bin", repo_id="alice/demo", revision=pr.git_reference)
    bob.comment_discussion("alice/demo", pr.num, "ready")
    bob.upload_file(path_or_fileobj=b"v", path_in_repo="v.bin", repo_id="alice/demo", revision=pr.git_reference)
    alice.merge_pull_request("alice/demo", pr.num, comment="merged, thanks")
    events = alice.get_discussion_details("alice/demo", pr.num).events
    assert [(e.type, getattr(e, "content", getattr(e, "summary", None))) for e in events] == [
        ("comment", "please"),
        ("commit", "Upload w.bin with huggingface_hub"),
        ("comment", "ready"),
        ("commit", "Upload v.bin with huggingface_hub"),
        ("comment", "merged, thanks"),
        ("status-change", None),
    ]
    assert "head" not in json.dumps([e._event for e in events])  # what the record keeps to order them


def test_a_commit_with_a_description_opens_its_pull_request_with_it(hub):
    bob = _api(hub, "hf_bob_write_token")
    info = bob.create_commit(
        "alice/demo",
        operations=[CommitOperationAdd("a.txt", b"a")],
        commit_message="add a",
        commit_description="Why: tests",
        create_pr=True,
    )
    events = bob.get_discussion_details("alice/demo", info.pr_num).events
    assert [(e.type, getattr(e, "content", None)) for e in events] == [("comment", "Why: tests"), ("commit", None)]


def test_who_may_comment_and_what_a_comment_may_be(hub):
    alice, read = _api(hub), _api(hub, "hf_alice_read_token")
    alice.create_repo("alice/secret", private=True)
    alice.create_discussion("alice/secret", title="private")
    num = alice.create_discussion("alice/demo", title="open").num
    assert _status(lambda: _api(hub, False).comment_discussion("alice/demo", num, "hi")) == 401
    assert _status(lambda: read.comment_discussion("alice/demo", num, "hi")) == 403  # a read token reads only
    assert _status(lambda: read.create_discussion("alice/demo", title="hi")) == 403
    assert _status(lambda: _api(hub, "hf_bob_write_token").comment_discussion("alice/secret", 1, "hi")) == 404
    assert _status(lambda: _api(hub, "hf_bob_write_token").rename_discussion("alice/demo", num, "mine")) == 403
    assert _status(lambda: alice.comment_discussion("alice/demo", num, "   ")) == 400
    assert _status(lambda: alice.comment_discussion("alice/demo", num, "x" * (MAX_COMMENT + 1))) == 400
    assert _status(lambda: alice.comment_discussion("alice/demo", 99, "hi")) == 404
    assert _status(lambda: alice.create_discussion("alice/demo", title=" ")) == 400
    folder = hub.root / "repos" / "models" / "alice" / "demo.git" / PULLS_DIR
    assert sorted(p.name for p in folder.iterdir()) == [f"{num}.json"]  # no lock file for #99, no temporary left
    # the client's default description, and none of the refused comments
    assert [(e.type, e.author) for e in read.get_discussion_details("alice/demo", num).events] == [("comment", "alice")]


def test_comments_posted_at_once_are_all_kept(hub):
    num = _api(hub).create_discussion("alice/demo", title="busy").num
    errors: list[BaseException] = []

    def post(i: int) -> None:
        try:
            _api(hub, "hf_bob_write_token" if i % 2 else "hf_alice_write_token").comment_discussion(
                "alice/demo", num, f"comment {i}"
            )
        except BaseException as err:  # collected for the assertion below
            errors.append(err)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    contents = [
        e.content for e in _api(hub).get_discussion_details("alice/demo", num).events[1:]
    ]  # after its description
    assert sorted(contents) == sorted(f"comment {i}" for i in range(16))


def test_a_record_from_before_comments_still_reads(hub):
    """Records written before discussions had events (and were all pull requests) keep working."""
    alice = _api(hub)
    info = alice.create_commit(
        "alice/demo", operations=[CommitOperationAdd("a.txt", b"a")], commit_message="add a", create_pr=True
    )
    record = hub.root / "repos" / "models" / "alice" / "demo.git" / PULLS_DIR / f"{info.pr_num}.json"
    old = json.loads(record.read_text())
    for key in ("events", "pull_request"):
        old.pop(key)
    record.write_text(json.dumps(old))
    assert [e.type for e in alice.get_discussion_details("alice/demo", info.pr_num).events] == ["commit"]
    alice.comment_discussion("alice/demo", info.pr_num, "still works")
    assert [e.type for e in alice.get_discussion_details("alice/demo", info.pr_num).events] == ["commit", "comment"]


def test_the_discussion_page_shows_its_comments_sanitised(hub):
    bob = _api(hub, "hf_bob_write_token")
    num = bob.create_discussion("alice/demo", title="<i>x</i>", description="**bold** <script>alert(1)</script>").num
    bob.comment_discussion("alice/demo", num, '<img src=x onerror="alert(2)"> [link](javascript:alert(3))')
    page = httpx2.get(f"{hub.url}/alice/demo/discussions/{num}").text
    assert "bob opened this discussion" in page and "wants to merge" not in page
    assert "<strong>bold</strong>" in page and "&lt;i&gt;x&lt;/i&gt;" in page
    body = page.split("</head>", 1)[1].lower()
    assert "<script" not in body and "onerror" not in body and 'href="javascript' not in body  # an inert text
    listing = httpx2.get(f"{hub.url}/alice/demo/discussions").text
    assert f'href="/alice/demo/discussions/{num}"' in listing and '<span class="badge">discussion</span>' in listing


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_pull_requests_diff_is_what_git_diff_prints(hub):
    alice = _api(hub)
    alice.upload_file(path_or_fileobj=b"one\ntwo\nthree\n", path_in_repo="a.txt", repo_id="alice/demo")
    alice.upload_file(path_or_fileobj=b"gone\n", path_in_repo="old.txt", repo_id="alice/demo")
    alice.upload_file(path_or_fileobj=b"\x00\x01binary", path_in_repo="b.dat", repo_id="alice/demo")
    ops = [
        CommitOperationAdd("a.txt", b"one\nTWO\nthree"),  # the last line loses its newline
        CommitOperationDelete("old.txt"),
        CommitOperationAdd("b.dat", b"\x00\x02binary"),
        CommitOperationAdd("sub/new.txt", b"hello\n"),
    ]
    info = alice.create_commit("alice/demo", operations=ops, commit_message="change", create_pr=True)
    details = alice.get_discussion_details("alice/demo", info.pr_num)
    git_dir = hub.root / "repos" / "models" / "alice" / "demo.git"
    start = json.loads((git_dir / PULLS_DIR / f"{info.pr_num}.json").read_text())["start"]
    expected = subprocess.run(
        ["git", "--git-dir", str(git_dir), "diff", "--no-color", "--no-renames", start, info.oid],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert details.diff == expected
    assert alice.get_discussion_details("alice/demo", info.pr_num).diff_url is None
    plain = alice.create_discussion("alice/demo", title="no code")
    assert plain.diff is None
