"""LFS on the local Hub, through the unmodified huggingface_hub client and Debian's git-lfs.

Uploads of binary and large files must take the LFS path (preupload says ``lfs``,
the batch API hands out signed links, the content lands in the store by sha256,
the tree holds a pointer), and every way of reading them back must give the
content and the Hub's metadata: ``hf_hub_download``, ``model_info(files_metadata=True)``,
the tree listing, the ETag of ``resolve``, and ``git clone`` with git-lfs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import (
    CommitOperationAdd,
    HfApi,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
)
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.lfs import UploadInfo, post_lfs_batch_info
from hypothesis import given, settings
from hypothesis import strategies as st

from gmm_hub.localhub._lfs import parse_pointer
from gmm_hub.localhub.routes.lfs import batch_reply, check_signature, link_key, sign

PNG_LIKE = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4  # binary: NUL bytes
BIG = 20 * 1024 * 1024


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tree_entry(local_hub, repo_id: str, path: str, revision: str = "main"):
    repo = local_hub.server.store.get("model", *repo_id.split("/"))
    return repo, repo.files(repo.resolve(revision))[path]


def _lfs_paths(local_hub) -> list[str]:
    return [r.path for r in local_hub.server.requests if r.path.startswith("/api/lfs/") or "/info/lfs/" in r.path]


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "up" / "weights" / "big.dat"
    path.parent.mkdir(parents=True)
    path.write_bytes(os.urandom(BIG))
    return path


# --- uploads go through LFS -----------------------------------------------------------
def test_lfs_binary_upload_file_stores_pointer_and_content(local_hub):
    api = local_hub.api("alice")
    api.create_repo("alice/demo")
    api.upload_file(path_or_fileobj=PNG_LIKE, path_in_repo="plots/cm.png", repo_id="alice/demo")
    repo, entry = _tree_entry(local_hub, "alice/demo", "plots/cm.png")
    pointer = parse_pointer(repo.read_blob(entry.oid))
    assert pointer is not None and pointer.oid == _sha(PNG_LIKE) and pointer.size == len(PNG_LIKE)
    assert local_hub.server.lfs.path(pointer.oid).read_bytes() == PNG_LIKE
    paths = _lfs_paths(local_hub)
    assert paths[0] == "/alice/demo.git/info/lfs/objects/batch"
    assert paths[1:] == [f"/api/lfs/objects/{pointer.oid}", f"/api/lfs/verify/{pointer.oid}"]  # upload, verify


def test_lfs_text_stays_regular_unless_over_10mb(local_hub):
    api = local_hub.api("alice")
    api.create_repo("alice/demo")
    api.upload_file(path_or_fileobj=b'{"a": 1}\n', path_in_repo="config.json", repo_id="alice/demo")
    repo, entry = _tree_entry(local_hub, "alice/demo", "config.json")
    assert entry.lfs is None and repo.read_blob(entry.oid) == b'{"a": 1}\n'
    assert _lfs_paths(local_hub) == []
    text = b"label,value\n" + b"a,1\n" * (11 * 1024 * 1024 // 4)  # text, but over the Hub's 10 MB
    api.upload_file(path_or_fileobj=text, path_in_repo="data.csv", repo_id="alice/demo")
    repo, entry = _tree_entry(local_hub, "alice/demo", "data.csv")
    assert entry.lfs is not None and entry.lfs.oid == _sha(text)


def test_lfs_20mb_upload_folder_round_trip_keeps_sha256(local_hub, big_file):
    api = local_hub.api("alice")
    api.create_repo("alice/demo")
    (big_file.parents[1] / "README.md").write_text("# big\n")
    api.upload_folder(folder_path=big_file.parents[1], repo_id="alice/demo", commit_message="big")
    expected = _sha(big_file.read_bytes())
    repo, entry = _tree_entry(local_hub, "alice/demo", "weights/big.dat")
    assert entry.lfs is not None and entry.lfs.oid == expected and entry.size < 200  # the tree holds a pointer
    assert local_hub.server.lfs.has(expected, BIG)
    downloaded = hf_hub_download("alice/demo", "weights/big.dat", cache_dir=local_hub.cache_dir)
    assert _sha(Path(downloaded).read_bytes()) == expected
    # the untracked LFS path joined .gitattributes in the same commit; the text file stayed out
    attributes = repo.read_blob(repo.files(repo.resolve("main"))[".gitattributes"].oid).decode()
    assert "weights/big.dat filter=lfs diff=lfs merge=lfs -text\n" in attributes
    assert "README.md" not in attributes
    assert [c.title for c in api.list_repo_commits("alice/demo")] == ["big", "initial commit"]


def test_lfs_same_content_is_uploaded_once_per_repo_and_stored_once(local_hub):
    api = local_hub.api("alice")
    for name in ("alice/one", "alice/two"):
        api.create_repo(name)
        api.upload_file(path_or_fileobj=PNG_LIKE, path_in_repo="cm.png", repo_id=name)
    api.upload_file(path_or_fileobj=PNG_LIKE, path_in_repo="again.png", repo_id="alice/two")
    puts = [r for r in local_hub.server.requests if r.method == "PUT"]
    # a repo that does not hold the content yet must upload it (so prove it has it); once it does, never again
    assert len(puts) == 2
    assert [p.name for p in (local_hub.root / "lfs" / "objects").rglob("*") if p.is_file()] == [_sha(PNG_LIKE)]
    assert hf_hub_download("alice/two", "again.png", cache_dir=local_hub.cache_dir)


# --- knowing an object's sha256 is not having it ----------------------------------------------
def test_lfs_content_of_a_private_repo_is_not_reachable_by_its_sha256_alone(local_hub, tmp_path):
    """The store is shared by all repos; a repo names only what was uploaded to it (or came in a commit)."""
    import json

    secret = os.urandom(5000) + b"\x00"  # binary: goes to LFS
    alice, bob = local_hub.api("alice"), local_hub.api("bob")
    alice.create_repo("alice/vault", private=True)
    alice.upload_file(path_or_fileobj=secret, path_in_repo="weights.bin", repo_id="alice/vault")
    alice.create_repo("alice/public")
    bob.create_repo("bob/steal")
    oid, size = _sha(secret), len(secret)
    as_bob = {"Authorization": f"Bearer {local_hub.tokens['bob']}"}

    # 1. a commit naming the object
    lines = [
        {"key": "header", "value": {"summary": "steal"}},
        {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": size}},
    ]
    body = "\n".join(json.dumps(line) for line in lines).encode()
    reply = httpx2.post(f"{local_hub.url}/api/models/bob/steal/commit/main", content=body, headers=as_bob)
    assert reply.status_code == 400 and "was not uploaded to bob/steal" in reply.headers["X-Error-Message"]
    # 2. a pointer committed as a file's content (as a git push would put it in the tree), then read back
    import base64

    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()
    lines[1] = {"key": "file", "value": {"path": "w.bin", "content": base64.b64encode(pointer).decode()}}
    body = "\n".join(json.dumps(line) for line in lines).encode()
    assert httpx2.post(f"{local_hub.url}/api/models/bob/steal/commit/main", content=body, headers=as_bob).is_success
    assert local_hub.server.store.get("model", "bob", "steal").files(bob.model_info("bob/steal").sha)["w.bin"].lfs
    assert httpx2.get(f"{local_hub.url}/bob/steal/resolve/main/w.bin", headers=as_bob).status_code == 404
    # 3. the batch API of any repo the attacker sees
    for repo in ("bob/steal", "alice/public"):
        download = {"operation": "download", "objects": [{"oid": oid, "size": size}]}
        answer = httpx2.post(f"{local_hub.url}/{repo}.git/info/lfs/objects/batch", json=download, headers=as_bob)
        assert answer.json()["objects"][0]["error"]["code"] == 404, repo
    upload = {"operation": "upload", "objects": [{"oid": oid, "size": size}]}
    answer = httpx2.post(f"{local_hub.url}/bob/steal.git/info/lfs/objects/batch", json=upload, headers=as_bob)
    assert "upload" in answer.json()["objects"][0]["actions"]  # "already stored" would let the commit through
    # the owner still reads it, and so does anyone who uploads the content itself
    assert Path(alice.hf_hub_download("alice/vault", "weights.bin", cache_dir=tmp_path / "a")).read_bytes() == secret
    bob.upload_file(path_or_fileobj=secret, path_in_repo="mine.bin", repo_id="bob/steal")
    assert Path(bob.hf_hub_download("bob/steal", "mine.bin", cache_dir=tmp_path / "b")).read_bytes() == secret


def test_lfs_grants_follow_a_moved_repo_and_are_backfilled_on_an_old_root(local_hub, tmp_path):
    import shutil as sh

    from gmm_hub.localhub import LocalHub

    alice = local_hub.api("alice")
    alice.create_repo("alice/old")
    alice.upload_file(path_or_fileobj=PNG_LIKE, path_in_repo="cm.png", repo_id="alice/old")
    alice.move_repo("alice/old", "alice/moved")
    assert Path(alice.hf_hub_download("alice/moved", "cm.png", cache_dir=tmp_path / "m")).read_bytes() == PNG_LIKE
    repo = local_hub.server.store.get("model", "alice", "moved")
    sh.rmtree(repo.path / "lfs-grants")  # a repo written before grants were kept
    with LocalHub(local_hub.root, tokens=local_hub.tokens) as again:
        api = HfApi(endpoint=again.url, token=local_hub.tokens["alice"])
        assert Path(api.hf_hub_download("alice/moved", "cm.png", cache_dir=tmp_path / "r")).read_bytes() == PNG_LIKE


def test_list_and_permanently_delete_lfs_files(local_hub, tmp_path):
    alice = local_hub.api("alice")
    for repo in ("alice/store", "alice/other"):
        alice.create_repo(repo)
    kept, dropped = PNG_LIKE, PNG_LIKE + b"\x01"
    alice.upload_file(path_or_fileobj=kept, path_in_repo="w/kept.bin", repo_id="alice/store")
    alice.upload_file(path_or_fileobj=dropped, path_in_repo="w/dropped.bin", repo_id="alice/store")
    alice.upload_file(path_or_fileobj=kept, path_in_repo="kept.bin", repo_id="alice/other")
    files = {f.filename: f for f in alice.list_lfs_files("alice/store")}
    assert set(files) == {"w/kept.bin", "w/dropped.bin"}
    assert (files["w/kept.bin"].oid, files["w/kept.bin"].size) == (_sha(kept), len(kept))
    with pytest.raises(HfHubHTTPError) as refused:
        list(local_hub.api("bob").list_lfs_files("alice/store"))
    assert refused.value.response.status_code == 403
    alice.permanently_delete_lfs_files("alice/store", [files["w/dropped.bin"], files["w/kept.bin"]])
    assert list(alice.list_lfs_files("alice/store")) == []
    store = local_hub.server.lfs
    assert not store.has(_sha(dropped)) and store.has(_sha(kept))  # alice/other still holds one of them
    with pytest.raises(HfHubHTTPError):
        alice.hf_hub_download("alice/store", "w/kept.bin", cache_dir=tmp_path / "s")
    assert Path(alice.hf_hub_download("alice/other", "kept.bin", cache_dir=tmp_path / "o")).read_bytes() == kept
    status = local_hub.api().model_info("alice/other", securityStatus=True).security_repo_status
    assert status == {"scansDone": False, "filesWithIssues": []}  # it scans nothing, and says so


# --- the Hub's metadata ---------------------------------------------------------------------
def test_lfs_metadata_in_model_info_tree_and_etag(local_hub):
    api = local_hub.api("alice")
    api.create_repo("alice/demo")
    api.create_commit(
        "alice/demo",
        [
            CommitOperationAdd("model.skops", PNG_LIKE),
            CommitOperationAdd("README.md", b"# demo\n"),
        ],
        commit_message="add",
    )
    info = api.model_info("alice/demo", files_metadata=True)
    siblings = {s.rfilename: s for s in info.siblings}
    lfs = siblings["model.skops"].lfs
    assert lfs is not None and lfs.sha256 == _sha(PNG_LIKE) and lfs.size == len(PNG_LIKE)
    assert siblings["model.skops"].size == len(PNG_LIKE) and 100 < lfs.pointer_size < 200
    assert siblings["README.md"].lfs is None
    tree = {f.path: f for f in api.list_repo_tree("alice/demo")}
    assert tree["model.skops"].lfs.sha256 == _sha(PNG_LIKE) and tree["README.md"].lfs is None
    meta = get_hf_file_metadata(hf_hub_url("alice/demo", "model.skops", endpoint=local_hub.url))
    assert meta.etag == _sha(PNG_LIKE) and meta.size == len(PNG_LIKE) and meta.commit_hash == info.sha
    text_meta = get_hf_file_metadata(hf_hub_url("alice/demo", "README.md", endpoint=local_hub.url))
    assert text_meta.etag == siblings["README.md"].blob_id  # regular files: the git blob id
    head = httpx2.head(hf_hub_url("alice/demo", "model.skops", endpoint=local_hub.url))
    assert head.headers["ETag"] == head.headers["X-Linked-Etag"] == f'"{_sha(PNG_LIKE)}"'
    assert head.headers["X-Linked-Size"] == str(len(PNG_LIKE))


def test_lfs_paths_info_reports_lfs(local_hub):
    api = local_hub.api("alice")
    api.create_repo("alice/demo")
    api.upload_file(path_or_fileobj=PNG_LIKE, path_in_repo="cm.png", repo_id="alice/demo")
    try:
        (entry,) = api.get_paths_info("alice/demo", ["cm.png"])
    except HfHubHTTPError as err:
        if err.response.status_code in (404, 501):
            pytest.skip("this server does not serve paths-info")
        raise
    assert entry.lfs is not None and entry.lfs.sha256 == _sha(PNG_LIKE) and entry.size == len(PNG_LIKE)


# --- the batch API's refusals, through the client's own batch call ------------------------------
def test_lfs_batch_upload_needs_a_token_and_a_reader_may_upload_for_a_pull_request(local_hub):
    local_hub.api("alice").create_repo("alice/demo")
    infos = [UploadInfo.from_bytes(PNG_LIKE)]
    with pytest.raises(HfHubHTTPError) as err:
        post_lfs_batch_info(infos, token=None, repo_type="model", repo_id="alice/demo", endpoint=local_hub.url)
    assert err.value.response.status_code == 401
    # bob may upload (the batch does not say whether for a pull request), but only a commit moves a
    # branch, and committing to alice's needs her rights (tests/localhub/test_pull_requests.py)
    for user in ("bob", "alice"):
        actions, errors, transfer = post_lfs_batch_info(
            infos, token=local_hub.tokens[user], repo_type="model", repo_id="alice/demo", endpoint=local_hub.url
        )
        assert transfer == "basic" and errors == [] and set(actions[0]["actions"]) == {"upload", "verify"}


def test_lfs_private_repo_batch_is_not_found_for_others(local_hub):
    local_hub.api("alice").create_repo("alice/secret", private=True)
    with pytest.raises(HfHubHTTPError) as err:
        post_lfs_batch_info(
            [UploadInfo.from_bytes(PNG_LIKE)],
            token=local_hub.tokens["bob"],
            repo_type="model",
            repo_id="alice/secret",
            endpoint=local_hub.url,
        )
    assert err.value.response.status_code == 404


def test_lfs_upload_link_is_bound_to_its_content(local_hub):
    api = local_hub.api("alice")
    api.create_repo("alice/demo")
    (action,) = post_lfs_batch_info(
        [UploadInfo.from_bytes(PNG_LIKE)],
        token=local_hub.tokens["alice"],
        repo_type="model",
        repo_id="alice/demo",
        endpoint=local_hub.url,
    )[0]
    href = action["actions"]["upload"]["href"]
    oid = _sha(PNG_LIKE)
    assert httpx2.put(href, content=PNG_LIKE[:-1] + b"!").status_code == 400  # right size, wrong sha256
    assert httpx2.put(href.replace("sig=", "sig=0"), content=PNG_LIKE).status_code == 403  # altered signature
    assert httpx2.put(href.split("?")[0], content=PNG_LIKE).status_code == 403  # unsigned
    assert not local_hub.server.lfs.path(oid).exists()
    assert not list(local_hub.server.lfs.tmp.iterdir())  # nothing half-written left behind
    assert httpx2.put(href, content=PNG_LIKE).status_code == 200
    assert local_hub.server.lfs.has(oid, len(PNG_LIKE))


# --- git clone with git-lfs -------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("git") is None or shutil.which("git-lfs") is None, reason="needs git and git-lfs")
@pytest.mark.parametrize(("private", "repo_type"), [(False, "model"), (True, "model"), (False, "dataset")])
def test_lfs_git_clone_brings_content(local_hub, tmp_path, private, repo_type):
    api = local_hub.api("alice")
    api.create_repo("alice/demo", private=private, repo_type=repo_type)
    for path, content in (("plots/cm.png", PNG_LIKE), ("README.md", b"# demo\n")):
        api.upload_file(path_or_fileobj=content, path_in_repo=path, repo_id="alice/demo", repo_type=repo_type)
    prefix = "" if repo_type == "model" else "datasets/"
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_LFS_SKIP_PUSH": "1",
    }
    subprocess.run(["git", "lfs", "install", "--skip-repo"], env=env, check=True, capture_output=True)
    host = local_hub.url.removeprefix("http://")
    auth = f"alice:{local_hub.tokens['alice']}@" if private else ""
    url = f"http://{auth}{host}/{prefix}alice/demo"
    done = subprocess.run(["git", "clone", url, str(tmp_path / "clone")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr.replace(local_hub.tokens["alice"], "***")
    assert (tmp_path / "clone" / "plots" / "cm.png").read_bytes() == PNG_LIKE  # content, not the pointer
    assert (tmp_path / "clone" / "README.md").read_bytes() == b"# demo\n"
    assert any(r.path == f"/{prefix}alice/demo.git/info/lfs/objects/batch" for r in local_hub.server.requests)


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("git-lfs") is None, reason="needs git and git-lfs")
def test_lfs_git_push_uploads_through_the_batch_api(local_hub, tmp_path):
    api = local_hub.api("alice")
    api.create_repo("alice/demo")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
    subprocess.run(["git", "lfs", "install", "--skip-repo"], env=env, check=True, capture_output=True)
    url = local_hub.url.replace("http://", f"http://alice:{local_hub.tokens['alice']}@") + "/alice/demo"
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", url, str(clone)], env=env, check=True, capture_output=True)
    (clone / "w.bin").write_bytes(PNG_LIKE)  # *.bin: tracked by the Hub's .gitattributes
    for command in (
        ["git", "add", "w.bin"],
        ["git", "-c", "user.name=alice", "-c", "user.email=alice@localhost", "commit", "-qm", "add w.bin"],
        ["git", "push", "-q", "origin", "main"],
    ):
        done = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr.replace(local_hub.tokens["alice"], "***")
    _, entry = _tree_entry(local_hub, "alice/demo", "w.bin")
    assert entry.lfs is not None and local_hub.server.lfs.has(_sha(PNG_LIKE), len(PNG_LIKE))
    assert Path(hf_hub_download("alice/demo", "w.bin", cache_dir=local_hub.cache_dir)).read_bytes() == PNG_LIKE
    assert f"/api/lfs/objects/{_sha(PNG_LIKE)}" in _lfs_paths(local_hub)


# --- the batch answer and its links, as functions ---------------------------------------------
def _action(kind: str, oid: str, size: int) -> dict:
    return {"href": f"/{kind}/{oid}", "header": {}}


@settings(max_examples=50, deadline=None)
@given(
    operation=st.sampled_from(["upload", "download"]),
    objects=st.lists(
        st.tuples(st.sampled_from(["a" * 64, "b" * 64, "A" * 64, "xyz", 3]), st.sampled_from([0, 5, 9, -1, "5"])),
        max_size=6,
    ),
)
def test_batch_reply_answers_each_object(operation, objects):
    stored = {("a" * 64, 5)}
    payload = {"operation": operation, "objects": [{"oid": o, "size": s} for o, s in objects]}
    reply = batch_reply(payload, has=lambda o, s: (o, s) in stored, action=_action, max_size=9)
    assert reply["transfer"] == "basic" and len(reply["objects"]) == len(objects)
    for (oid, size), answer in zip(objects, reply["objects"], strict=True):
        valid = isinstance(oid, str) and len(oid) == 64 and oid.islower() and isinstance(size, int) and size >= 0
        if not valid:
            assert answer["error"]["code"] == 422
        elif operation == "upload":
            assert ("actions" in answer) == ((oid, size) not in stored)
        elif (oid, size) in stored:
            assert answer["actions"]["download"]["href"] == f"/download/{oid}"
        else:
            assert answer["error"]["code"] == 404


def test_batch_reply_refuses_other_protocols():
    from gmm_hub.localhub._errors import HubError

    has = lambda oid, size: False  # noqa: E731
    with pytest.raises(HubError, match="'upload' or 'download'"):
        batch_reply({"operation": "delete", "objects": []}, has=has, action=_action, max_size=1)
    with pytest.raises(HubError, match="sha256"):
        batch_reply({"operation": "upload", "objects": [], "hash_algo": "md5"}, has=has, action=_action, max_size=1)
    too_big = {"operation": "upload", "objects": [{"oid": "a" * 64, "size": 2}]}
    with pytest.raises(HubError, match="limit of 1 bytes") as err:
        batch_reply(too_big, has=has, action=_action, max_size=1)
    assert err.value.status == 413
    with pytest.raises(HubError, match="'basic' transfer"):
        batch_reply({"operation": "upload", "objects": [], "transfers": ["xet"]}, has=has, action=_action, max_size=1)


def test_signed_links_expire_and_bind_method_size_and_key(tmp_path):
    from gmm_hub.localhub._errors import HubError

    (tmp_path / "other").mkdir()
    key = link_key(tmp_path)
    assert link_key(tmp_path) == key and (tmp_path / "link-key").stat().st_mode & 0o077 == 0
    oid, expires = "c" * 64, int(time.time()) + 60
    query = {"size": "7", "expires": str(expires), "sig": sign("PUT", oid, 7, expires, key=key)}
    assert check_signature("PUT", oid, query, key=key) == 7
    for method, changed in (("GET", {}), ("PUT", {"size": "8"}), ("PUT", {"expires": str(expires + 1)})):
        with pytest.raises(HubError, match="signature"):
            check_signature(method, oid, {**query, **changed}, key=key)
    with pytest.raises(HubError, match="signature"):
        check_signature("PUT", oid, query, key=link_key(tmp_path / "other"))  # another root's key
    with pytest.raises(HubError, match="expired"):
        check_signature("PUT", oid, query, key=key, now=expires + 1)


def test_lfs_links_survive_a_restart(local_hub):
    local_hub.api("alice").create_repo("alice/demo")
    (action,) = post_lfs_batch_info(
        [UploadInfo.from_bytes(PNG_LIKE)],
        token=local_hub.tokens["alice"],
        repo_type="model",
        repo_id="alice/demo",
        endpoint=local_hub.url,
    )[0]
    from gmm_hub.localhub import LocalHub

    local_hub.server.stop()
    with LocalHub(local_hub.root, tokens=local_hub.tokens) as again:
        href = action["actions"]["upload"]["href"].replace(local_hub.url, again.url)
        assert httpx2.put(href, content=PNG_LIKE).status_code == 200
        assert again.lfs.has(_sha(PNG_LIKE), len(PNG_LIKE))
