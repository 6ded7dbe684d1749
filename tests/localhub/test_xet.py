"""Xet uploads on the local Hub: the formats (gmm_hub.localhub._xet), then the unmodified client with hf_xet."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import lz4.frame
import numpy as np
import pytest
from huggingface_hub import HfApi
from hypothesis import given
from hypothesis import strategies as st

from gmm_hub.localhub import LocalHub
from gmm_hub.localhub._xet import (
    SHARD_HEADER_TAG,
    XetFormatError,
    _aggregate,
    hash_bytes,
    hash_hex,
    shard_files,
    xorb_chunks,
    xorb_hash,
)
from gmm_hub.localhub.routes.lfs import link_key
from gmm_hub.localhub.routes.xet import issue_token


# ----------------------------------------------------------------------------- writers (the client's side)
def _group4(data: bytes) -> bytes:
    return b"".join(data[i::4] for i in range(4))


def _xorb(chunks: list[bytes], schemes: list[int] | None = None) -> bytes:
    out = b""
    for chunk, scheme in zip(chunks, schemes or [1] * len(chunks), strict=True):
        body = {0: chunk, 1: lz4.frame.compress(chunk), 2: lz4.frame.compress(_group4(chunk))}[scheme]
        out += bytes([0]) + len(body).to_bytes(3, "little") + bytes([scheme]) + len(chunk).to_bytes(3, "little")
        out += body
    return out


def _shard(files: list[tuple[bytes, list[tuple[str, int, int, int]]]], *, metadata: bool = True) -> bytes:
    """A shard of ``(content, [(xorb hex, start, end, size)])`` files, with verification and sha256 entries."""
    out = SHARD_HEADER_TAG + struct.pack("<QQ", 2, 200)
    for content, segments in files:
        flags = (1 << 31) | ((1 << 30) if metadata else 0)
        out += bytes(32) + struct.pack("<II", flags, len(segments)) + bytes(8)
        for xorb, start, end, size in segments:
            out += hash_bytes(xorb) + struct.pack("<IIII", 0, size, start, end)
        out += bytes(48) * len(segments)  # verification entries: read past, not checked
        if metadata:
            out += hash_bytes(hashlib.sha256(content).hexdigest()) + bytes(16)
    return out + b"\xff" * 32 + bytes(16)


# ----------------------------------------------------------------------------- the formats
def test_hash_strings_follow_the_specification_example():
    # spec/api.md's example, whose third word lost its last byte ("10") in the text
    assert hash_hex(bytes(range(32))) == "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"
    for bad in ("0" * 63, "G" * 64, "A" * 64):
        with pytest.raises(XetFormatError):
            hash_bytes(bad)


@given(st.binary(min_size=32, max_size=32))
def test_hash_strings_round_trip(raw):
    assert hash_bytes(hash_hex(raw)) == raw


def test_the_merkle_root_matches_xet_cores_reference_values():
    """Vectors from xet-core's ``merklehash/src/aggregated_hashes.rs`` (``test_correctness``)."""
    a = hash_bytes("cfc5d07f6f03c29bbf424132963fe08d19a37d5757aaf520bf08119f05cd56d6")
    b = hash_bytes("c3e67584b5c4fc2a89837ec39e40f2c8a6bb0b2987ac94cd4b31e5fbdd210a72")
    c = hash_bytes("0d2beb91b9196929a5ddec9f6e306924ddf4a24268e3e59fd8464738d525af37")
    assert _aggregate([(a, 100)]) == a
    assert hash_hex(_aggregate([(a, 100), (b, 200), (c, 300)])) == (
        "71ec1275fca074724e2dd666921b3277c7cee603e4d025bcab2d4050015be2bc"
    )
    assert hash_hex(_aggregate([(a, 100)] * 4)) == "89f2ada89ff8c96763c6b25010e6dd76a4c05b1466207633ea559acf2093211b"
    assert _aggregate([]) == bytes(32)


@given(st.lists(st.binary(min_size=1, max_size=3000), min_size=1, max_size=6), st.data())
def test_xorb_chunks_undo_every_compression_scheme(chunks, data):
    schemes = [data.draw(st.sampled_from([0, 1, 2])) for _ in chunks]
    assert xorb_chunks(_xorb(chunks, schemes)) == chunks


def test_a_chunk_that_unpacks_past_its_header_is_refused_without_unpacking_it():
    import tracemalloc

    bomb = lz4.frame.compress(bytes(50_000_000))  # 50 MB of zeros in about 200 KB
    xorb = bytes([0]) + len(bomb).to_bytes(3, "little") + bytes([1]) + (1000).to_bytes(3, "little") + bomb
    tracemalloc.start()
    with pytest.raises(XetFormatError, match="decompresses to 1001 bytes, its header says 1000"):
        xorb_chunks(xorb)
    assert tracemalloc.get_traced_memory()[1] < 5_000_000  # never the 50 MB
    tracemalloc.stop()


def test_a_xorb_that_unpacks_to_gigabytes_is_refused(monkeypatch):
    import gmm_hub.localhub._xet as xet

    monkeypatch.setattr(xet, "MAX_XORB_UNPACKED", 3 * 1000)
    with pytest.raises(XetFormatError, match="unpacks to more than"):
        xorb_chunks(_xorb([bytes(1000)] * 4))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda x: x[:5], "ends inside a chunk header"),
        (lambda x: b"\x01" + x[1:], "invalid chunk header"),  # version 1
        (lambda x: x[:4] + b"\x07" + x[5:], "unknown chunk compression scheme 7"),
        (lambda x: x[:5] + (99).to_bytes(3, "little") + x[8:], "decompresses to"),  # size in the header is wrong
        (lambda x: x[:8] + b"\x00" * (len(x) - 8), "LZ4 data is corrupt"),
        (lambda x: x[:-3], "invalid chunk header"),  # the data runs past the end
    ],
)
def test_malformed_xorbs_are_refused_with_the_reason(mutate, message):
    with pytest.raises(XetFormatError, match=message):
        xorb_chunks(mutate(_xorb([b"hello xet " * 50])))


def test_shard_files_lists_each_files_ranges_and_sha256():
    parts = [b"a" * 100, b"b" * 50]
    name = hash_hex(xorb_hash(parts))
    files = shard_files(_shard([(b"a" * 100 + b"b" * 50, [(name, 0, 2, 150)]), (b"b" * 50, [(name, 1, 2, 50)])]))
    assert [f.sha256 for f in files] == [
        hashlib.sha256(b"a" * 100 + b"b" * 50).hexdigest(),
        hashlib.sha256(b"b" * 50).hexdigest(),
    ]
    assert [(s.xorb, s.start, s.end, s.size) for s in files[1].segments] == [(name, 1, 2, 50)] and files[0].size == 150
    assert shard_files(_shard([])) == []


@pytest.mark.parametrize(
    ("shard", "message"),
    [
        (b"not a shard" * 10, "header tag"),
        (SHARD_HEADER_TAG + struct.pack("<QQ", 3, 200) + b"\xff" * 32 + bytes(16), "version 3"),
        (_shard([(b"x", [("0" * 64, 0, 1, 1)])], metadata=False), "no sha256"),
        (_shard([(b"x", [("0" * 64, 0, 1, 1)])])[:-48], "before its bookend"),
        (_shard([(b"x", [("0" * 64, 1, 1, 1)])]), "empty chunk range"),
    ],
)
def test_malformed_shards_are_refused_with_the_reason(shard, message):
    with pytest.raises(XetFormatError, match=message):
        shard_files(shard)


# ----------------------------------------------------------------------------- the CAS routes
def _token(hub: LocalHub, scope: str = "write", expires: int | None = None) -> dict[str, str]:
    exp = int(time.time()) + 600 if expires is None else expires
    return {"Authorization": f"Bearer {issue_token(scope, 'model/alice/demo', exp, key=link_key(hub.lfs.root))}"}


def test_token_routes_give_cas_tokens_to_who_may_read_or_write(tmp_path):
    tokens = {"alice": ["alice-write", "alice-read:read"], "bob": "bob-write"}
    with LocalHub(tmp_path / "root", tokens=tokens) as hub:
        HfApi(endpoint=hub.url, token="alice-write").create_repo("alice/demo")
        url = f"{hub.url}/api/models/alice/demo/xet-%s-token/main"

        def get(kind, token):
            return httpx2.get(url % kind, headers={"Authorization": f"Bearer {token}"} if token else {})

        granted = get("write", "alice-write")
        assert granted.status_code == 200
        body = granted.json()
        assert body["casUrl"] == f"{hub.url}/xet" and body["exp"] > time.time()
        assert granted.headers["X-Xet-Access-Token"] == body["accessToken"]
        assert "alice-write" not in body["accessToken"]  # never the Hub token itself
        assert get("read", "bob-write").status_code == 200  # a public repo: anyone reads
        assert get("write", "bob-write").status_code == 403  # not bob's namespace
        assert get("write", "alice-read").status_code == 403  # a read token cannot upload
        assert get("write", None).status_code == 401
        HfApi(endpoint=hub.url, token="alice-write").update_repo_settings("alice/demo", gated="auto")
        assert get("read", "bob-write").status_code == 403  # gated: as its downloads are
        read_cas = get("read", "alice-read").json()["accessToken"]
        reply = httpx2.post(
            f"{hub.url}/xet/v1/shards", content=_shard([]), headers={"Authorization": f"Bearer {read_cas}"}
        )
        assert reply.status_code == 403


def test_cas_refuses_missing_forged_and_expired_tokens(local_hub):
    hub = local_hub.server
    body = _shard([])
    assert httpx2.post(f"{hub.url}/xet/v1/shards", content=body).status_code == 401
    forged = _token(hub)["Authorization"][:-4] + "0000"
    assert httpx2.post(f"{hub.url}/xet/v1/shards", content=body, headers={"Authorization": forged}).status_code == 401
    expired = _token(hub, expires=int(time.time()) - 1)
    assert httpx2.post(f"{hub.url}/xet/v1/shards", content=body, headers=expired).status_code == 401
    assert httpx2.post(f"{hub.url}/xet/v1/shards", content=body, headers=_token(hub)).status_code == 200


def test_a_xorb_is_kept_only_under_its_own_hash_and_a_file_only_with_its_sha256(local_hub):
    hub, headers = local_hub.server, _token(local_hub.server)
    parts = [os.urandom(3000), b"\x00\x01" * 2000]
    name, xorb = hash_hex(xorb_hash(parts)), _xorb(parts, [0, 2])
    other = hash_hex(xorb_hash([b"something else"]))
    planted = httpx2.post(f"{hub.url}/xet/v1/xorbs/default/{other}", content=xorb, headers=headers)
    assert planted.status_code == 400 and "does not have the hash" in planted.headers["X-Error-Message"]
    assert httpx2.post(f"{hub.url}/xet/v1/xorbs/default/{name}", content=xorb, headers=headers).json() == {
        "was_inserted": True
    }
    assert httpx2.post(f"{hub.url}/xet/v1/xorbs/default/{name}", content=xorb, headers=headers).json() == {
        "was_inserted": False
    }
    content = parts[0] + parts[1]
    size = len(content)
    lying = _shard([(b"another content", [(name, 0, 2, size)])])
    refused = httpx2.post(f"{hub.url}/xet/v1/shards", content=lying, headers=headers)
    assert refused.status_code == 400 and "sha256" in refused.headers["X-Error-Message"]
    missing = _shard([(content, [(other, 0, 1, size)])])
    assert (
        "was not uploaded"
        in httpx2.post(f"{hub.url}/xet/v1/shards", content=missing, headers=headers).headers["X-Error-Message"]
    )
    assert not hub.lfs.has(hashlib.sha256(content).hexdigest(), size)
    good = _shard([(content, [(name, 0, 2, size)])])
    assert httpx2.post(f"{hub.url}/xet/v1/shards", content=good, headers=headers).status_code == 200
    assert hub.lfs.path(hashlib.sha256(content).hexdigest()).read_bytes() == content
    assert not list(hub.lfs.tmp.iterdir())  # nothing half-written left behind


# ----------------------------------------------------------------------------- the unmodified client
needs_hf_xet = pytest.mark.skipif(
    importlib.util.find_spec("hf_xet") is None, reason="needs hf_xet (huggingface_hub's Xet)"
)


@pytest.fixture
def xet_on(local_hub, monkeypatch):
    """The local Hub with the client's Xet path on, as for a user who set only HF_ENDPOINT."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", False)
    monkeypatch.delenv("HF_HUB_DISABLE_XET", raising=False)
    return local_hub


def _weights(seed: int, n: int = 3_000_000) -> bytes:
    rng = np.random.RandomState(seed)  # random bytes (LZ4 cannot shrink) and smooth floats (byte grouping can)
    return rng.bytes(n) + np.linspace(0, 1, n // 4, dtype=np.float32).tobytes()


@needs_hf_xet
def test_the_client_uploads_through_xet_and_the_file_reads_back(xet_on, tmp_path):
    alice = xet_on.api("alice")
    alice.create_repo("alice/xet")
    data, twin = _weights(0), _weights(1)
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "model.bin").write_bytes(data)
    (tmp_path / "up" / "copy.bin").write_bytes(data)  # deduplicated by the client
    (tmp_path / "up" / "other.bin").write_bytes(twin)
    (tmp_path / "up" / "notes.txt").write_text("small, not LFS")
    alice.upload_folder(folder_path=tmp_path / "up", repo_id="alice/xet")
    paths = [r.path for r in xet_on.server.requests]
    assert any(p.startswith("/xet/v1/xorbs/") for p in paths) and "/xet/v1/shards" in paths
    assert not any(p.endswith("/info/lfs/objects/batch") for p in paths)  # not the LFS batch API
    files = {s.rfilename: s for s in alice.model_info("alice/xet", files_metadata=True).siblings}
    assert files["model.bin"].lfs.sha256 == hashlib.sha256(data).hexdigest() == files["copy.bin"].lfs.sha256
    for name, content in (("model.bin", data), ("copy.bin", data), ("other.bin", twin)):
        path = xet_on.api().hf_hub_download("alice/xet", name, cache_dir=tmp_path / "dl")
        assert Path(path).read_bytes() == content

    alice.create_repo("alice/again")  # the client knows its xorbs are on the server: a shard may name them
    alice.upload_file(path_or_fileobj=data, path_in_repo="model.bin", repo_id="alice/again")
    assert Path(alice.hf_hub_download("alice/again", "model.bin", cache_dir=tmp_path / "dl2")).read_bytes() == data


@needs_hf_xet
def test_hf_upload_with_only_the_endpoint_and_a_token_works(xet_on, tmp_path):
    xet_on.api("alice").create_repo("alice/cli")
    (tmp_path / "w.bin").write_bytes(_weights(2, 200_000))
    env = {k: v for k, v in xet_on.env("alice").items() if k != "HF_HUB_DISABLE_XET"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("hf")), "upload", "alice/cli", str(tmp_path / "w.bin"), "w.bin"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert any(r.path == "/xet/v1/shards" for r in xet_on.server.requests)
    out = xet_on.api().hf_hub_download("alice/cli", "w.bin", cache_dir=tmp_path / "dl")
    assert Path(out).read_bytes() == (tmp_path / "w.bin").read_bytes()


def test_many_files_cut_from_one_xorb_unpack_it_once(local_hub, monkeypatch):
    import gmm_hub.localhub.routes.xet as routes

    hub, headers = local_hub.server, _token(local_hub.server)
    parts = [os.urandom(1000 + i) for i in range(20)]
    name = hash_hex(xorb_hash(parts))
    assert httpx2.post(f"{hub.url}/xet/v1/xorbs/default/{name}", content=_xorb(parts), headers=headers).is_success
    calls = []
    real = routes.xorb_chunks
    monkeypatch.setattr(routes, "xorb_chunks", lambda data: calls.append(1) or real(data))
    shard = _shard([(part, [(name, i, i + 1, len(part))]) for i, part in enumerate(parts)])
    assert httpx2.post(f"{hub.url}/xet/v1/shards", content=shard, headers=headers).status_code == 200
    assert len(calls) == 1
    assert all(hub.lfs.path(hashlib.sha256(p).hexdigest()).read_bytes() == p for p in parts)
