"""The local Hub under hostile clients: limits, errors and headers, over raw sockets and httpx."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from gmm_hub.localhub import LocalHub

TOKENS = {"alice": "hf_alice_secret_token", "bob": "hf_bob_secret_token"}


@pytest.fixture
def hub(tmp_path):
    with LocalHub(tmp_path / "root", tokens=TOKENS, request_timeout=2.0) as server:
        api = HfApi(endpoint=server.url, token=TOKENS["alice"])
        api.create_repo("alice/demo")
        api.upload_file(path_or_fileobj=b"v1", path_in_repo="w.txt", repo_id="alice/demo")
        yield server


def _raw(hub: LocalHub, head: bytes, body: bytes = b"", *, close_write: bool = False, wait: float = 10) -> bytes:
    """Send ``head`` + ``body`` on a fresh connection; return whatever the server answers."""
    host, port = hub.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(head + body)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and not close_write:
                    break
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def _commit_body(summary: str, files: dict[str, bytes]) -> bytes:
    lines = [{"key": "header", "value": {"summary": summary, "description": ""}}]
    for path, content in files.items():
        lines.append({"key": "file", "value": {"path": path, "content": base64.b64encode(content).decode()}})
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def _head(hub: LocalHub) -> str:
    return HfApi(endpoint=hub.url, token=TOKENS["alice"]).model_info("alice/demo").sha


def _request(method: str, path: str, length: int, token: str | None = TOKENS["alice"]) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/x-ndjson\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def test_app_commit_shorter_than_content_length_commits_nothing(hub):
    before = _head(hub)
    body = _commit_body("two files", {"a.txt": b"a" * 5000, "b.txt": b"b" * 5000})
    _raw(
        hub,
        _request("POST", "/api/models/alice/demo/commit/main", len(body)),
        body[: len(body) - 200],
        close_write=True,
    )
    time.sleep(0.2)
    assert _head(hub) == before
    files = HfApi(endpoint=hub.url).list_repo_files("alice/demo")
    assert "a.txt" not in files and "b.txt" not in files
    assert [r.status for r in hub.requests if r.path.endswith("/commit/main")][-1] == 400


def test_app_never_reflects_crlf_into_headers(hub):
    for path in (
        "/api/models/alice/demo/revision/x%0D%0ASet-Cookie:%20evil=1",
        "/alice/demo/resolve/main/a%0D%0ASet-Cookie:%20evil=1",
        "/alice/demo/resolve/x%0d%0aX-Evil:%201/w.txt",
    ):
        reply = _raw(hub, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = reply.split(b"\r\n\r\n", 1)[0].lower()
        assert head.startswith((b"http/1.1 400", b"http/1.1 404")), head
        lines = head.split(b"\r\n")
        assert not [line for line in lines if line.startswith((b"set-cookie", b"x-evil"))]
        message = [line for line in lines if line.startswith(b"x-error-message")]
        assert message and (b"\\x0d\\x0a" in message[0] or b"\\r\\n" in message[0])  # escaped, on one line


def test_app_refuses_anonymous_body_before_reading_it(hub):
    declared = 200 * 1024 * 1024
    peak = hub.budget.peak
    start = time.perf_counter()
    reply = _raw(hub, _request("POST", "/api/models/alice/demo/commit/main", declared, token=None), b"x" * 65536)
    assert reply.startswith(b"HTTP/1.1 401"), reply[:200]
    assert b"connection: close" in reply.lower()
    assert time.perf_counter() - start < 5
    reply = _raw(hub, _request("POST", "/api/models/alice/demo/commit/main", declared, token="not-a-token"), b"x")
    assert reply.startswith(b"HTTP/1.1 401")
    reply = _raw(hub, _request("POST", "/api/models/alice/demo/commit/main", declared, token=TOKENS["bob"]), b"x")
    assert reply.startswith(b"HTTP/1.1 403")
    assert hub.budget.peak == peak  # nothing of the refused bodies was held


def test_app_body_over_the_cap_is_refused_from_its_header(tmp_path):
    with LocalHub(tmp_path / "root", tokens=TOKENS, max_body_bytes=1000) as small:
        HfApi(endpoint=small.url, token=TOKENS["alice"]).create_repo("alice/demo")
        reply = _raw(small, _request("POST", "/api/models/alice/demo/commit/main", 10**9), b"x" * 100)
        assert reply.startswith(b"HTTP/1.1 413")


def test_app_malformed_json_and_base64_are_400(hub):
    before = _head(hub)
    client = httpx2.Client(base_url=hub.url, headers={"Authorization": f"Bearer {TOKENS['alice']}"})
    commit = "/api/models/alice/demo/commit/main"
    header = json.dumps({"key": "header", "value": {"summary": "x"}}) + "\n"
    bad_bodies = [
        b"{",
        b"[]\n",
        b'{"key": "header", "value": []}\n',
        (header + '{"key": "file", "value": {"path": "a.txt", "content": "!!not base64!!"}}\n').encode(),
        (header + '{"key": "file", "value": {"path": "a.txt", "content": "YQ="}}\n').encode(),
        (header + '{"key": "file", "value": {"path": 7, "content": "YQ=="}}\n').encode(),
        (header + '{"key": "lfsFile", "value": {"path": "a.bin", "oid": "' + "0" * 64 + '", "size": 1}}\n').encode(),
        (header + '{"key": "rename", "value": {}}\n').encode(),
        b'{"key": "header", "value": {"summary": 5}}\n',
        b"[" * 100_000 + b"\n",
    ]
    for body in bad_bodies:
        reply = client.post(commit, content=body)
        assert reply.status_code == 400, (body[:80], reply.text)
        assert reply.json()["error"]
    for path, body in (
        ("/api/repos/create", b"{"),
        ("/api/repos/create", b'{"name": ["x"]}'),
        ("/api/repos/create", b"[1, 2]"),
        ("/api/models/alice/demo/preupload/main", b'{"files": [{"path": "a", "sample": "%%%"}]}'),
        ("/api/models/alice/demo/preupload/main", b'{"files": "a"}'),
        ("/api/models/alice/demo/tag/main", b'{"tag": 1}'),
    ):
        reply = client.post(path, content=body)
        assert reply.status_code == 400, (path, body, reply.text)
    assert _head(hub) == before
    assert not [r for r in hub.requests if r.status >= 500]


def test_app_slow_body_gets_408(hub):
    body = _commit_body("slow", {"a.txt": b"a"})
    start = time.perf_counter()
    reply = _raw(hub, _request("POST", "/api/models/alice/demo/commit/main", len(body)), body[:10], wait=10)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:100]
    assert 1.5 < time.perf_counter() - start < 8
    assert "a.txt" not in HfApi(endpoint=hub.url).list_repo_files("alice/demo")


def test_app_memory_budget_is_shared_across_connections(tmp_path):
    with LocalHub(tmp_path / "root", tokens=TOKENS, memory_budget=1024) as tight:
        api = HfApi(endpoint=tight.url, token=TOKENS["alice"])
        api.create_repo("alice/demo")
        client = httpx2.Client(base_url=tight.url, headers={"Authorization": f"Bearer {TOKENS['alice']}"})
        reply = client.post("/api/models/alice/demo/preupload/main", content=json.dumps({"files": [], "x": "y" * 4000}))
        assert reply.status_code == 503 and reply.headers["retry-after"] == "1"
        assert tight.budget.used == 0


def test_app_fifty_concurrent_commits_to_one_branch_are_all_kept(hub):
    api = HfApi(endpoint=hub.url, token=TOKENS["alice"])

    def commit(i: int) -> str:
        return api.upload_file(
            path_or_fileobj=str(i).encode(), path_in_repo=f"f{i}.txt", repo_id="alice/demo", commit_message=f"c{i}"
        ).oid

    with ThreadPoolExecutor(16) as pool:
        oids = list(pool.map(commit, range(50)))
    history = api.list_repo_commits("alice/demo")
    assert {c.commit_id for c in history} >= set(oids)
    assert len(history) == 52
    assert {f"f{i}.txt" for i in range(50)} <= set(api.list_repo_files("alice/demo"))


def test_app_parent_commit_that_moved_is_412(hub):
    api = HfApi(endpoint=hub.url, token=TOKENS["alice"])
    old = _head(hub)
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="w.txt", repo_id="alice/demo")
    from huggingface_hub import CommitOperationAdd

    with pytest.raises(HfHubHTTPError) as err:
        api.create_commit("alice/demo", [CommitOperationAdd("x.txt", b"x")], commit_message="late", parent_commit=old)
    assert err.value.response.status_code == 412


SECOND_SERVER = """
import sys, time
from gmm_hub.localhub import LocalHub
hub = LocalHub(sys.argv[1], tokens={"alice": sys.argv[2]}).start()
print(hub.url, flush=True)
sys.stdin.read()
hub.stop()
"""


def test_app_two_server_processes_on_one_root_lose_no_commit(hub):
    proc = subprocess.Popen(
        [sys.executable, "-c", SECOND_SERVER, str(hub.root), TOKENS["alice"]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        other = proc.stdout.readline().strip()
        apis = [HfApi(endpoint=url, token=TOKENS["alice"]) for url in (hub.url, other)]

        def commit(i: int) -> str:
            return (
                apis[i % 2]
                .upload_file(path_or_fileobj=str(i).encode(), path_in_repo=f"p{i}.txt", repo_id="alice/demo")
                .oid
            )

        with ThreadPoolExecutor(8) as pool:
            oids = list(pool.map(commit, range(24)))
    finally:
        proc.communicate("", timeout=20)
    history = {c.commit_id for c in apis[0].list_repo_commits("alice/demo")}
    assert set(oids) <= history and len(history) == 26


def test_app_unknown_route_and_method_keep_the_hub_shape(hub):
    reply = httpx2.get(f"{hub.url}/api/nothing/here")
    assert reply.status_code == 404 and reply.json()["error"].startswith("Not found")
    reply = httpx2.put(f"{hub.url}/api/repos/create")
    assert reply.status_code == 405 and "x-error-message" in reply.headers
    reply = httpx2.post(
        f"{hub.url}/api/repos/create",
        json={"name": "bad..name"},
        headers={"Authorization": f"Bearer {TOKENS['alice']}"},
    )
    assert reply.status_code == 400 and "Invalid name" in reply.headers["x-error-message"]


def test_app_request_log_never_shows_a_token(hub, caplog):
    caplog.set_level("DEBUG")
    HfApi(endpoint=hub.url, token=TOKENS["bob"]).model_info("alice/demo")
    _raw(hub, _request("POST", "/api/models/alice/demo/commit/main", 10, token="hf_guess_token"), b"x" * 10)
    assert not any(t in caplog.text for t in (*TOKENS.values(), "hf_guess_token"))
    assert "/api/models/alice/demo" in caplog.text


def test_app_starts_well_under_a_second(tmp_path):
    start = time.perf_counter()
    fresh = LocalHub(tmp_path / "root").start()  # returns once it accepts connections
    elapsed = time.perf_counter() - start
    try:
        assert httpx2.get(f"{fresh.url}/api/models/a/b").status_code == 401
    finally:
        fresh.stop()
    assert elapsed < 1.0
    assert threading.active_count() < 50
    assert Path(tmp_path / "root" / "repos").is_dir()


def test_app_large_inline_file_is_streamed_to_the_lfs_store(hub):
    """A file over 10 MB sent inline (base64 in the commit line) never sits decoded in memory."""
    import hashlib
    import tracemalloc

    content = bytes(range(256)) * (45 * 1024)  # 11.25 MiB
    api = HfApi(endpoint=hub.url, token=TOKENS["alice"])
    client = httpx2.Client(base_url=hub.url, headers={"Authorization": f"Bearer {TOKENS['alice']}"})
    body = _commit_body("big inline", {"big.bin": content})
    tracemalloc.start()
    reply = client.post("/api/models/alice/demo/commit/main", content=body)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert reply.status_code == 200, reply.text
    assert peak < len(body) + 16 * 2**20  # the client's body, not body + base64 text + decoded copies
    entry = {s.rfilename: s for s in api.model_info("alice/demo", files_metadata=True).siblings}["big.bin"]
    assert entry.lfs is not None and entry.lfs.sha256 == hashlib.sha256(content).hexdigest()
    assert client.get("/alice/demo/resolve/main/big.bin").content == content
    bad = body.replace(b'"content": "', b'"content": "=', 1)
    assert client.post("/api/models/alice/demo/commit/main", content=bad).status_code == 400
    shaped = body.replace(b'"key": "file"', b'"key": "lfsFile"', 1)
    assert client.post("/api/models/alice/demo/commit/main", content=shaped).status_code == 400
