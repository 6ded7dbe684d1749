"""Property tests of requests to the local Hub (hypothesis, bounded): random paths, revisions,
headers and commit bodies never give a 500, never put CR/LF into a reply header, and never
commit partially."""

from __future__ import annotations

import base64
import json
import re
import socket
from urllib.parse import quote

from huggingface_hub import HfApi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmm_hub.localhub import LocalHub

TOKENS = {"alice": "hf_alice_prop_token"}
HEADER_LINE = re.compile(rb"^[A-Za-z0-9-]+: [\x20-\x7e]*$")
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True, database=None
)

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=24)
segment = st.one_of(
    text.map(lambda t: quote(t, safe="")),
    st.sampled_from(["main", "w.txt", "..", ".", "%2e%2e", "%0d%0a", "%00", "refs%2Fheads%2Fmain", "a%2Fb"]),
)


def _send(hub: LocalHub, raw: bytes) -> tuple[int, list[bytes]]:
    host, port = hub.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    status = int(head[0].split(b" ")[1]) if head[0].startswith(b"HTTP/1.1 ") else 0
    return status, head[1:]


def _check_reply(status: int, headers: list[bytes]) -> None:
    assert 200 <= status < 500, status
    for line in headers:
        assert HEADER_LINE.match(line), line  # one header per line, printable ASCII only
    names = {line.split(b":", 1)[0].lower() for line in headers}
    assert not names & {b"set-cookie", b"x-evil", b"location"}


def test_requests_random_paths_revisions_and_headers_never_500(tmp_path):
    with LocalHub(tmp_path / "root", tokens=TOKENS) as hub:
        api = HfApi(endpoint=hub.url, token=TOKENS["alice"])
        api.create_repo("alice/demo")
        api.upload_file(path_or_fileobj=b"v1", path_in_repo="w.txt", repo_id="alice/demo")
        head = api.model_info("alice/demo").sha
        templates = [
            "/alice/demo/resolve/{0}/{1}",
            "/api/models/alice/demo/revision/{0}",
            "/api/models/alice/demo/tree/{0}/{1}",
            "/api/models/alice/demo/commits/{0}",
            "/api/models/{0}/{1}",
            "/api/datasets/alice/{0}/refs",
            "/{0}/{1}/info/refs?service=git-upload-pack",
            "/api/models/alice/demo/tag/{0}",
            "/api/models/alice/demo/branch/{0}",
            "/{0}/{1}",
        ]

        @SETTINGS
        @given(
            template=st.sampled_from(templates),
            a=segment,
            b=segment,
            method=st.sampled_from(["GET", "HEAD", "POST", "DELETE", "PUT"]),
            auth=st.one_of(st.none(), st.just(f"Bearer {TOKENS['alice']}"), text.map(lambda t: quote(t, safe=" "))),
            extra=st.dictionaries(
                st.sampled_from(["Range", "Content-Type", "X-Test", "If-Range"]),
                text.map(lambda t: quote(t, safe=" =-,")),
                max_size=2,
            ),
        )
        def check(template, a, b, method, auth, extra):
            lines = [f"{method} {template.format(a, b)} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
            if auth is not None:
                lines.append(f"Authorization: {auth}")
            lines += [f"{k}: {v}" for k, v in extra.items()]
            lines.append("Content-Length: 0")
            status, headers = _send(hub, ("\r\n".join(lines) + "\r\n\r\n").encode())
            _check_reply(status, headers)

        check()
        assert not [r for r in hub.requests if r.status >= 500]
        assert api.model_info("alice/demo").sha == head  # no random request wrote anything


operation = st.one_of(
    st.fixed_dictionaries(
        {
            "key": st.just("file"),
            "value": st.fixed_dictionaries(
                {
                    "path": st.sampled_from(["a.txt", "b/c.txt", "../x", "", "d.bin"]),
                    "content": st.one_of(st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()), text),
                }
            ),
        }
    ),
    st.fixed_dictionaries(
        {
            "key": st.sampled_from(["deletedFile", "deletedFolder"]),
            "value": st.fixed_dictionaries({"path": st.sampled_from(["w.txt", "nope.txt", "b", "/"])}),
        }
    ),
    st.fixed_dictionaries(
        {
            "key": st.just("lfsFile"),
            "value": st.fixed_dictionaries(
                {
                    "path": st.just("m.bin"),
                    "oid": st.text("0123456789abcdef", min_size=64, max_size=64),
                    "size": st.integers(-1, 10),
                }
            ),
        }
    ),
    st.dictionaries(
        st.sampled_from(["key", "value", "x"]),
        st.one_of(st.none(), st.integers(), text, st.lists(st.integers(), max_size=2)),
        max_size=3,
    ),
)


def test_requests_random_commits_apply_fully_or_not_at_all(tmp_path):
    with LocalHub(tmp_path / "root", tokens=TOKENS) as hub:
        api = HfApi(endpoint=hub.url, token=TOKENS["alice"])
        api.create_repo("alice/demo")
        api.upload_file(path_or_fileobj=b"v1", path_in_repo="w.txt", repo_id="alice/demo")

        @SETTINGS
        @given(
            summary=st.one_of(st.just("msg"), text, st.integers()),
            operations=st.lists(operation, max_size=4),
            cut=st.one_of(st.none(), st.integers(1, 200)),
        )
        def check(summary, operations, cut):
            before_sha = api.model_info("alice/demo").sha
            before_files = set(api.list_repo_files("alice/demo"))
            lines = [{"key": "header", "value": {"summary": summary}}, *operations]
            body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
            declared = len(body)
            sent = body if cut is None else body[: max(len(body) - cut, 0)]
            raw = (
                "POST /api/models/alice/demo/commit/main HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                f"Authorization: Bearer {TOKENS['alice']}\r\nContent-Length: {declared}\r\n\r\n"
            ).encode() + sent
            host, port = hub.url.removeprefix("http://").rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                sock.sendall(raw)
                if cut is not None:
                    sock.shutdown(socket.SHUT_WR)  # the client goes away before the end of its body
                reply = b""
                while chunk := sock.recv(65536):
                    reply += chunk
            after_sha = api.model_info("alice/demo").sha
            files = set(api.list_repo_files("alice/demo"))
            status = int(reply.split(b" ")[1]) if reply.startswith(b"HTTP/1.1 ") else None
            assert cut is not None or status is not None  # a complete request always gets an answer
            assert status is None or status < 500, status
            if status == 200:
                assert cut is None and after_sha != before_sha
                added = {op["value"]["path"] for op in operations if op.get("key") == "file"}
                assert added <= files
            else:
                assert after_sha == before_sha and files == before_files  # nothing of it landed

        check()
        assert not [r for r in hub.requests if r.status >= 500]
