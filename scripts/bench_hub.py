"""Hub round trip timings against an embedded local Hub (no account, no network).

Measured in one process, after imports, ``--repeat`` times each (paths alternate):

- push: ``gmm_hub.push(bundle, new repo)`` (create repo + one commit);
- cold pull: ``gmm_hub.pull(repo)`` into an empty cache;
- warm load by repo id: ``gmm_hub.load("user/repo")`` with the files cached
  (resolves ``main`` with one request), and pinned to the commit sha (no request);
- local load: ``gmm_hub.load(bundle_dir)`` of the same bundle.

Target: warm ``load(repo_id)`` at most 1.2x the local load + 50 ms, and no slower than the
0.1.0 server's README figures by more than 20% (printed next to them).

Then, for the server itself (git storage, Starlette on uvicorn):

- a ``--big-mb`` (200) MB file round trip (``upload_file`` + ``hf_hub_download`` into an
  empty cache) in MB/s, next to a plain copy of the same bytes on the same disk;
- ``--commits`` (50) concurrent commits to one branch: the time, and whether all are kept;
- the server's peak memory (a separate process: VmRSS sampled, and VmHWM) while
  ``--clients`` (30) anonymous clients each send a ``--big-mb`` MB commit body: each should
  get its 401 after the server read none of it (the clients count what they sent).

    python scripts/bench_hub.py [--repeat 15] [--rows 2000] [--features 8] [--big-mb 200]
                                [--commits 50] [--clients 30]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import secrets
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import numpy as np
import pandas as pd
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.utils import disable_progress_bars

import gmm_hub
from gmm_hub.evaluation import evaluate_model
from gmm_hub.hub._transfer import pull, push, use_endpoint
from gmm_hub.localhub._server import LocalHub


def build(workdir: Path, rows: int, features: int) -> Path:
    """A bundle with card and plots, like ``gmm-hub train`` writes."""
    rng = np.random.default_rng(0)
    y = (rng.random(rows) < 0.1).astype(int)
    X = pd.DataFrame(rng.normal(size=(rows, features)) + 1.5 * y[:, None], columns=[f"x{i}" for i in range(features)])
    model = gmm_hub.tabular_pipeline(n_components=2, covariance_type="full", random_state=0).fit(X, y)
    bundle = gmm_hub.save(model, workdir / "bundle", metrics=evaluate_model(model, X, y))
    gmm_hub.write_card(bundle)
    return bundle


# README figures of the 0.1.0 server (http.server + JSON snapshots), ms
README_0_1_0 = {"push": 17.0, "pull_cold": 40.5, "load_local": 14.0, "load_repo": 23.0, "load_sha": 18.0}

LABELS = {
    "push": "push (new repo, one commit)",
    "pull_cold": "pull into an empty cache",
    "load_local": "load(bundle_dir)",
    "load_repo": "load('user/repo')  warm cache",
    "load_sha": "load('user/repo', revision=sha)",
}


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(work: Path, bundle: Path, repeat: int) -> tuple[dict[str, list[float]], list[str]]:
    """Time every operation against a fresh local Hub; return the times and a warm load's requests."""
    token = secrets.token_urlsafe(16)
    hub = LocalHub(work / "hub", tokens={"bench": token})
    hub.start()
    times: dict[str, list[float]] = {k: [] for k in LABELS}
    try:
        with use_endpoint(hub.url, hf_home=work / "hf_home"), disable_progress_bars():
            url = push(bundle, "bench/model", token=token)
            sha = url.rsplit("/", 1)[1]
            gmm_hub.load("bench/model")  # warm the cache
            gmm_hub.load(bundle)  # and the imports / OS file cache
            for i in range(repeat):
                times["push"].append(timed(lambda i=i: push(bundle, f"bench/push-{i}", token=token)))
                times["pull_cold"].append(timed(lambda i=i: pull(f"bench/push-{i}", cache_dir=work / f"c{i}")))
                times["load_local"].append(timed(lambda: gmm_hub.load(bundle)))
                times["load_repo"].append(timed(lambda: gmm_hub.load("bench/model")))
                times["load_sha"].append(timed(lambda: gmm_hub.load("bench/model", revision=sha)))
            before = len(hub.requests)
            gmm_hub.load("bench/model")
            warm_requests = [f"{r.method} {r.path}" for r in hub.requests[before:]]
    finally:
        hub.stop()
    return times, warm_requests


def report(title: str, times: dict[str, list[float]]) -> None:
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(f"\n{title}")
    print(f"{'operation':<34} {'median':>8} {'range':>17} {'0.1.0 README':>13} {'ratio':>6}")
    for key, label in LABELS.items():
        lo, hi = min(times[key]) * 1000, max(times[key]) * 1000
        old = README_0_1_0[key]
        print(f"{label:<34} {med[key]:>8.1f} {f'{lo:.1f}..{hi:.1f}':>17} {old:>13.1f} {med[key] / old:>5.2f}x")
    target = 1.2 * med["load_local"] + 50
    for key in ("load_repo", "load_sha"):
        verdict = "OK" if med[key] <= target else "OVER TARGET"
        print(
            f"{LABELS[key]:<34} {med[key] / med['load_local']:.2f}x local, "
            f"+{med[key] - med['load_local']:.1f} ms; target <= {target:.1f} ms: {verdict}"
        )


def round_trip(work: Path, size_mb: int) -> None:
    """A ``size_mb`` MB file up and down through the local Hub, next to a plain copy on the same disk."""
    big = work / "big.bin"
    with open(big, "wb") as fh:
        for _ in range(size_mb):
            fh.write(os.urandom(1024 * 1024))
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    start = time.perf_counter()
    shutil.copyfile(big, work / "copy.bin")
    copy = time.perf_counter() - start
    (work / "copy.bin").unlink()
    token = secrets.token_urlsafe(16)
    with (
        LocalHub(work / "hub-big", tokens={"bench": token}) as hub,
        use_endpoint(hub.url, hf_home=work / "hf_home_big"),  # Xet off: the local Hub serves LFS
        disable_progress_bars(),
    ):
        api = HfApi(endpoint=hub.url, token=token)
        api.create_repo("bench/big")
        start = time.perf_counter()
        api.upload_file(path_or_fileobj=str(big), path_in_repo="big.bin", repo_id="bench/big")
        up = time.perf_counter() - start
        start = time.perf_counter()
        path = hf_hub_download("bench/big", "big.bin", endpoint=hub.url, cache_dir=work / "cache-big", token=token)
        down = time.perf_counter() - start
        via = "LFS batch" if hub.count("POST", r"/info/lfs/objects/batch") else "inline (regular) commit"
        # the server's share: the same bytes over plain HTTP, without the client library's work
        client = httpx2.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
        start = time.perf_counter()
        with client.stream("GET", "/bench/big/resolve/main/big.bin") as reply:
            got = sum(len(chunk) for chunk in reply.iter_bytes(1 << 20))
        raw_down = time.perf_counter() - start
        line = b'{"key": "file", "value": {"content": "' + base64.b64encode(big.read_bytes())
        body = b'{"key": "header", "value": {"summary": "raw"}}\n' + line + b'", "path": "raw.bin"}}\n'
        del line
        start = time.perf_counter()
        status = client.post("/api/models/bench/big/commit/main", content=body).status_code
        raw_up = time.perf_counter() - start
        del body
    same = hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest
    rate = lambda seconds: size_mb / seconds  # noqa: E731
    print(f"\n{size_mb} MB file (upload via {via}); MB/s")
    print(f"{'plain copy on the same disk':<34} {rate(copy):>8.0f}")
    print(f"{'upload_file':<34} {rate(up):>8.0f}")
    print(f"{'hf_hub_download (empty cache)':<34} {rate(down):>8.0f}")
    print(
        f"{'round trip (up + down)':<34} {rate(up + down):>8.0f}  = {rate(up + down) / rate(copy):.2f}x the plain copy;"
        f" bytes identical: {same}"
    )
    print(f"{'server only: raw commit POST':<34} {rate(raw_up):>8.0f}  (the same base64 commit line, status {status})")
    print(f"{'server only: raw streamed GET':<34} {rate(raw_down):>8.0f}  ({got == size_mb * 2**20})")
    print(
        f"{'server only: round trip':<34} {rate(raw_up + raw_down):>8.0f}  = "
        f"{rate(raw_up + raw_down) / rate(copy):.2f}x the plain copy"
    )


def concurrent_commits(work: Path, n: int) -> None:
    """``n`` commits to one branch at once (one thread each); all must be kept."""
    token = secrets.token_urlsafe(16)
    with LocalHub(work / "hub-commits", tokens={"bench": token}) as hub, disable_progress_bars():
        api = HfApi(endpoint=hub.url, token=token)
        api.create_repo("bench/busy")

        def commit(i: int) -> str:
            info = api.upload_file(path_or_fileobj=f"{i}".encode(), path_in_repo=f"f{i}.txt", repo_id="bench/busy")
            return info.oid

        start = time.perf_counter()
        with ThreadPoolExecutor(n) as pool:
            oids = list(pool.map(commit, range(n)))
        elapsed = time.perf_counter() - start
        history = {c.commit_id for c in api.list_repo_commits("bench/busy")}
        files = set(api.list_repo_files("bench/busy"))
    kept = len(set(oids) & history)
    print(f"\n{n} concurrent commits to main: {elapsed:.2f} s, {kept}/{n} kept in the history,")
    print(f"  {len({f'f{i}.txt' for i in range(n)} & files)}/{n} files on main")


SERVER = """
import sys
if sys.argv[3] == "server-only":  # the server's modules without gmm_hub/__init__ (sklearn, scipy, pandas)
    import importlib.util, types
    package = types.ModuleType("gmm_hub")
    package.__path__ = importlib.util.find_spec("gmm_hub").submodule_search_locations
    sys.modules["gmm_hub"] = package
from gmm_hub.localhub import LocalHub
hub = LocalHub(sys.argv[1], tokens={"bench": sys.argv[2]}).start()
print(hub.url, flush=True)
sys.stdin.read()
hub.stop()
"""


def _rss_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def _hostile_client(host: str, port: int, size: int, out: list) -> None:
    head = (
        f"POST /api/models/bench/target/commit/main HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/x-ndjson\r\nContent-Length: {size}\r\n\r\n"
    ).encode()
    chunk = b"x" * (256 * 1024)
    sent, status = 0, "no answer"
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock] if sent < size else [], [], 1.0)
            if readable:
                try:
                    reply = sock.recv(4096)
                    status = reply.split(b"\r\n", 1)[0].decode() if reply else "closed"
                except OSError as err:
                    status = type(err).__name__
                break
            if writable:
                try:
                    sent += sock.send(chunk[: size - sent])
                except BlockingIOError:
                    pass
                except OSError as err:
                    status = type(err).__name__
                    break
    out.append((status, sent))


def hostile_memory(work: Path, clients: int, size_mb: int, mode: str) -> None:
    """Peak RSS of a server process while ``clients`` anonymous clients each send ``size_mb`` MB."""
    token = secrets.token_urlsafe(16)
    root = work / f"hub-rss-{mode}"
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(root), token, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()  # type: ignore[union-attr]
        HfApi(endpoint=url, token=token).create_repo("bench/target")
        idle = _rss_kib(proc.pid)
        host, port = url.removeprefix("http://").rsplit(":", 1)
        results: list = []
        peak = idle["VmRSS"]
        threads = [
            threading.Thread(target=_hostile_client, args=(host, int(port), size_mb * 1024 * 1024, results))
            for _ in range(clients)
        ]
        start = time.perf_counter()
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            peak = max(peak, _rss_kib(proc.pid)["VmRSS"])
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        final = _rss_kib(proc.pid)
    finally:
        proc.communicate("", timeout=30)
    statuses = sorted({status for status, _ in results})
    sent = [s for _, s in results]
    what = "as `gmm-hub hub serve` runs it" if mode == "full" else "its own modules only, no `import gmm_hub`"
    print(f"\n{clients} anonymous clients, each declaring a {size_mb} MB commit body ({elapsed:.2f} s); server {what}:")
    print(f"  answers: {statuses}; each client sent {min(sent) / 2**20:.1f}..{max(sent) / 2**20:.1f} MB before it")
    print(
        f"  server RSS: idle {idle['VmRSS'] / 1024:.0f} MB, peak sampled {peak / 1024:.0f} MB, "
        f"peak over its life (VmHWM) {final['VmHWM'] / 1024:.0f} MB (+{(final['VmHWM'] - idle['VmRSS']) / 1024:.0f} MB "
        f"over idle); target < 200 MB: {'OK' if final['VmHWM'] < 200 * 1024 else 'OVER'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--big-mb", type=int, default=200)
    parser.add_argument("--commits", type=int, default=50)
    parser.add_argument("--clients", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bundle = build(work, args.rows, args.features)
        size, n_files = sum(p.stat().st_size for p in bundle.iterdir()), len(list(bundle.iterdir()))
        times, warm_requests = measure(work / "hub", bundle, args.repeat)
    print(f"bundle: {size / 1024:.0f} KiB in {n_files} files; {args.repeat} runs each; ms, median (min..max)")
    report("local Hub (127.0.0.1)", times)
    print(
        f"\nrequests of a warm load('user/repo'): {warm_requests or 'none'}; "
        "with revision=<commit sha>: none (huggingface_hub's tree cache)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        round_trip(Path(tmp), args.big_mb)
    with tempfile.TemporaryDirectory() as tmp:
        concurrent_commits(Path(tmp), args.commits)
    for mode in ("full", "server-only"):
        with tempfile.TemporaryDirectory() as tmp:
            hostile_memory(Path(tmp), args.clients, args.big_mb, mode)


if __name__ == "__main__":
    main()
