"""Hub round trip timings against an embedded local Hub (no account, no network).

Side by side with gmm_hub 0.1.0 (the http.server + JSON-snapshot Hub, ``git archive`` of
``--baseline``, by default ``4d190b0^``, into a temporary directory): two worker processes,
one per tree, each with its own server, bundle (built by its own ``gmm_hub.save``) and Hub
cache, driven in alternating rounds, so both see the same machine load. Each round times:

- push: ``gmm_hub.push(bundle, new repo)`` (create repo + one commit);
- cold pull: ``gmm_hub.pull(repo)`` into an empty cache;
- local load: ``gmm_hub.load(bundle_dir)`` of the same bundle;
- warm load by repo id: ``gmm_hub.load("user/repo")`` with the files cached
  (resolves ``main`` with one request), and pinned to the commit sha (no request).

Targets: push, cold pull and warm ``load(repo_id)`` no slower than 0.1.0 by more than 20%
(ratios of medians, same run), and warm ``load(repo_id)`` at most 1.2x the local load + 50 ms.

Then, for the server itself (git storage, Starlette on uvicorn; this tree only):

- a ``--big-mb`` (200) MB file round trip (``upload_file`` through the LFS batch API +
  ``hf_hub_download`` into an empty cache) in MB/s, next to a plain copy of the same bytes on
  the same disk (aim: at least 0.5x);
- ``--commits`` (50) concurrent commits to one branch: the time, and whether all are kept;
- the server's peak memory (a separate process: VmRSS sampled, and VmHWM) while
  ``--clients`` (30) anonymous clients each send a ``--big-mb`` MB commit body: each should
  get its 401 after the server read none of it (the clients count what they sent).

    python scripts/bench_hub.py [--repeat 15] [--rows 2000] [--features 8] [--big-mb 200]
                                [--commits 50] [--clients 30] [--baseline REV | --no-baseline]
                                [--parts small,big,commits,memory] [--compare REV ...]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import secrets
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.utils import disable_progress_bars

REPO = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.2  # no slower than 0.1.0 by more than 20%
ROUND_TRIP_AIM = 0.5  # of a plain copy

LABELS = {
    "push": "push (new repo, one commit)",
    "pull_cold": "pull into an empty cache",
    "load_local": "load(bundle_dir)",
    "load_repo": "load('user/repo')  warm cache",
    "load_sha": "load('user/repo', revision=sha)",
}
TARGETED = ("push", "pull_cold", "load_repo")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed_both(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall time, and CPU time of the whole process (client and in-process server threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


# ----------------------------------------------------------------------------- worker (one per tree)


def _worker_modules() -> tuple[object, Callable, Callable, Callable, type]:
    """``gmm_hub`` and its push/pull/use_endpoint/LocalHub, wherever this tree keeps them (0.1.0: flat)."""
    import gmm_hub

    try:
        from gmm_hub.hub._transfer import pull, push, use_endpoint
        from gmm_hub.localhub._server import LocalHub
    except ImportError:  # 0.1.0's layout
        from gmm_hub._hub import pull, push, use_endpoint  # type: ignore[no-redef]
        from gmm_hub._hub_server import LocalHub  # type: ignore[no-redef]
    return gmm_hub, push, pull, use_endpoint, LocalHub


def build(workdir: Path, rows: int, features: int) -> Path:
    """A bundle with card and plots, like ``gmm-hub train`` writes (by this process's gmm_hub)."""
    import numpy as np
    import pandas as pd

    import gmm_hub
    from gmm_hub.evaluation import evaluate_model

    rng = np.random.default_rng(0)
    y = (rng.random(rows) < 0.1).astype(int)
    X = pd.DataFrame(rng.normal(size=(rows, features)) + 1.5 * y[:, None], columns=[f"x{i}" for i in range(features)])
    model = gmm_hub.tabular_pipeline(n_components=2, covariance_type="full", random_state=0).fit(X, y)
    bundle = gmm_hub.save(model, workdir / "bundle", metrics=evaluate_model(model, X, y))
    gmm_hub.write_card(bundle)
    return bundle


def worker(work: Path, rows: int, features: int) -> None:
    """Serve rounds on stdin: each line ``round N`` times every operation once and prints JSON."""
    import logging

    logging.disable(logging.WARNING)  # "no local path ..." notes of load(repo_id)
    gmm_hub, push, pull, use_endpoint, LocalHub = _worker_modules()
    bundle = build(work, rows, features)
    token = secrets.token_urlsafe(16)
    hub = LocalHub(work / "hub", tokens={"bench": token})
    hub.start()
    try:
        with use_endpoint(hub.url, hf_home=work / "hf_home"), disable_progress_bars():
            url = push(bundle, "bench/model", token=token)
            sha = url.rsplit("/", 1)[1]
            gmm_hub.load("bench/model")  # warm the cache
            gmm_hub.load(bundle)  # and the imports / OS file cache
            size = sum(p.stat().st_size for p in bundle.iterdir())
            print(json.dumps({"size": size, "files": len(list(bundle.iterdir()))}), flush=True)
            for line in sys.stdin:
                i = int(line.split()[1])
                times = {
                    "push": timed_both(lambda i=i: push(bundle, f"bench/push-{i}", token=token)),
                    "pull_cold": timed_both(lambda i=i: pull(f"bench/push-{i}", cache_dir=work / f"c{i}")),
                    "load_local": timed_both(lambda: gmm_hub.load(bundle)),
                    "load_repo": timed_both(lambda: gmm_hub.load("bench/model")),
                    "load_sha": timed_both(lambda: gmm_hub.load("bench/model", revision=sha)),
                }
                before = len(hub.requests)
                push(bundle, f"bench/count-{i}", token=token)
                pushed = len(hub.requests) - before
                pull(f"bench/count-{i}", cache_dir=work / f"d{i}")
                pulled = len(hub.requests) - before - pushed
                before = len(hub.requests)
                gmm_hub.load("bench/model")
                warm = [f"{r.method} {r.path}" for r in hub.requests[before:]]
                print(json.dumps({"times": times, "requests": [pushed, pulled, warm]}), flush=True)
    finally:
        hub.stop()


class Worker:
    """A worker process running ``source``'s gmm_hub (``source`` first on ``sys.path``)."""

    def __init__(self, source: Path, work: Path, rows: int, features: int) -> None:
        work.mkdir(parents=True)
        code = (
            f"import sys; sys.path.insert(0, {str(source)!r}); sys.path.insert(1, {str(Path(__file__).parent)!r})\n"
            "import pathlib, bench_hub\n"
            "bench_hub.worker(pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, str(work), str(rows), str(features)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=work,  # not this repo: the source on sys.path decides which gmm_hub is imported
        )
        self.info = self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError(f"a bench worker died (exit {self.proc.wait()}); see its stderr above")
        return json.loads(line)

    def round(self, i: int) -> dict:
        self.proc.stdin.write(f"round {i}\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return self._read()

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait(timeout=60)


def baseline_tree(rev: str, into: Path) -> Path:
    """``gmm_hub/`` of commit ``rev`` of this repo, unpacked under ``into`` (no worktree, nothing left behind)."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "gmm_hub"], check=True, capture_output=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def side_by_side(
    work: Path, repeat: int, rows: int, features: int, baseline: str | None, others: list[str] | None = None
) -> None:
    trees = {"this tree": REPO}
    for n, rev in enumerate(others or []):
        trees[rev] = baseline_tree(rev, work / f"other-src-{n}")
    if baseline:
        trees[f"0.1.0 ({baseline})"] = baseline_tree(baseline, work / "baseline-src")
    workers = {name: Worker(src, work / f"w{n}", rows, features) for n, (name, src) in enumerate(trees.items())}
    times: dict[str, dict[str, list[float]]] = {name: {k: [] for k in LABELS} for name in trees}
    cpu: dict[str, dict[str, list[float]]] = {name: {k: [] for k in LABELS} for name in trees}
    requests: dict[str, list] = {}
    load_before = os.getloadavg()[0]
    try:
        for i in range(repeat):
            order = list(workers.items())
            for name, w in order if i % 2 == 0 else reversed(order):  # alternate who goes first
                answer = w.round(i)
                for key, (wall, used) in answer["times"].items():
                    times[name][key].append(wall)
                    cpu[name][key].append(used)
                requests[name] = answer["requests"]
    finally:
        for w in workers.values():
            w.close()
    med = {name: {k: statistics.median(v) * 1000 for k, v in t.items()} for name, t in times.items()}
    names = list(trees)
    for name in names:
        info = workers[name].info
        print(f"{name}: bundle {info['size'] / 1024:.0f} KiB in {info['files']} files")
    print(
        f"{repeat} alternating rounds; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
        "(ratios of medians; both trees saw the same machine)"
    )
    for title, table in (("wall time, ms, median (min..max)", times), ("CPU time of the process, ms, median", cpu)):
        meds = {name: {k: statistics.median(v) * 1000 for k, v in t.items()} for name, t in table.items()}
        print(f"\n{title}")
        head = f"{'operation':<34}" + "".join(f" {n[:24]:>26}" for n in names)
        compared = names[:-1] if baseline else []  # each against 0.1.0, the last column
        print(head + "".join(f" {'ratio':>6}" for _ in compared) + (f"  target <= {TARGET_RATIO}x" if compared else ""))
        for key, label in LABELS.items():
            row = f"{label:<34}"
            for name in names:
                lo, hi = min(table[name][key]) * 1000, max(table[name][key]) * 1000
                row += f" {f'{meds[name][key]:.1f} ({lo:.1f}..{hi:.1f})':>26}"
            for name in compared:
                row += f" {meds[name][key] / meds[names[-1]][key]:>5.2f}x"
            if compared and key in TARGETED and table is times:
                ratio = meds[names[0]][key] / meds[names[-1]][key]
                row += f"  {'PASS' if ratio <= TARGET_RATIO else 'FAIL'} (this tree)"
            print(row)
    print()
    for name in names:
        m = med[name]
        target = 1.2 * m["load_local"] + 50
        verdict = "PASS" if m["load_repo"] <= target else "FAIL"
        print(
            f"{name}: warm load('user/repo') {m['load_repo'] / m['load_local']:.2f}x local, "
            f"+{m['load_repo'] - m['load_local']:.1f} ms; target <= 1.2x local + 50 ms = {target:.1f} ms: {verdict}"
        )
    for name in names:
        pushed, pulled, warm = requests[name]
        print(f"{name}: requests per push {pushed}, per cold pull {pulled}, of a warm load('user/repo') {warm}")


def _client_ceiling(big: Path) -> tuple[float, float]:
    """Seconds the HTTP client (httpx2, as huggingface_hub uses it) alone takes to send and to receive ``big``.

    The other end is a bare socket (``sendfile`` out, ``recv`` into one buffer, no HTTP
    parsing, no disk), so this is the most any server could give this client.
    """
    size = big.stat().st_size
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    head += conn.recv(1 << 16)
                if head.startswith(b"GET"):
                    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
                    with open(big, "rb") as fh:
                        conn.sendfile(fh)
                else:
                    got, buffer = len(head.split(b"\r\n\r\n", 1)[1]), bytearray(1 << 20)
                    while got < size:
                        got += conn.recv_into(buffer)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with httpx2.Client(timeout=120) as client:
        start = time.perf_counter()
        with open(big, "rb") as fh:
            client.put(f"http://127.0.0.1:{port}/", content=fh, headers={"Content-Length": str(size)})
        up = time.perf_counter() - start
        start = time.perf_counter()
        with client.stream("GET", f"http://127.0.0.1:{port}/") as reply:
            for _ in reply.iter_bytes(10 << 20):  # huggingface_hub's DOWNLOAD_CHUNK_SIZE
                pass
        down = time.perf_counter() - start
    thread.join(10)
    listener.close()
    return up, down


def round_trip(work: Path, size_mb: int) -> None:
    """A ``size_mb`` MB file up and down through the local Hub, next to a plain copy on the same disk."""
    from gmm_hub.hub._transfer import use_endpoint
    from gmm_hub.localhub._server import LocalHub

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
    ceiling_up, ceiling_down = _client_ceiling(big)
    start = time.perf_counter()
    hashlib.sha256(big.read_bytes())
    hashing = time.perf_counter() - start
    rate = lambda seconds: size_mb / seconds  # noqa: E731
    print(f"\n{size_mb} MB file (upload via {via}); MB/s")
    print(f"{'plain copy on the same disk':<34} {rate(copy):>8.0f}")
    print(f"{'upload_file':<34} {rate(up):>8.0f}")
    print(f"{'hf_hub_download (empty cache)':<34} {rate(down):>8.0f}")
    print(
        f"{'round trip (up + down)':<34} {rate(up + down):>8.0f}  = {rate(up + down) / rate(copy):.2f}x the plain copy;"
        f" bytes identical: {same}; aim >= {ROUND_TRIP_AIM}x: "
        f"{'PASS' if rate(up + down) / rate(copy) >= ROUND_TRIP_AIM else 'FAIL'}"
    )
    print(f"{'server only: raw commit POST':<34} {rate(raw_up):>8.0f}  (the same base64 commit line, status {status})")
    print(f"{'server only: raw streamed GET':<34} {rate(raw_down):>8.0f}  ({got == size_mb * 2**20})")
    print(
        f"{'server only: round trip':<34} {rate(raw_up + raw_down):>8.0f}  = "
        f"{rate(raw_up + raw_down) / rate(copy):.2f}x the plain copy"
    )
    print(
        f"{'client ceiling: httpx2 alone':<34} {rate(ceiling_up + ceiling_down):>8.0f}  = "
        f"{rate(ceiling_up + ceiling_down) / rate(copy):.2f}x the plain copy (up {rate(ceiling_up):.0f}, "
        f"down {rate(ceiling_down):.0f}; a bare socket at the other end, no disk)"
    )
    print(f"{'sha256 of the file (once)':<34} {rate(hashing):>8.0f}  (upload_file hashes it before sending)")


def concurrent_commits(work: Path, n: int) -> None:
    """``n`` commits to one branch at once (one thread each); all must be kept."""
    from gmm_hub.localhub._server import LocalHub

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
    parser.add_argument("--baseline", default="4d190b0^", help="the 0.1.0 commit to compare with (git rev)")
    parser.add_argument("--no-baseline", action="store_true", help="time this tree only")
    parser.add_argument("--compare", nargs="*", default=[], help="other git revs to time in the same rounds")
    parser.add_argument("--parts", default="small,big,commits,memory", help="comma-separated parts to run")
    args = parser.parse_args()
    parts = set(args.parts.split(","))

    if "small" in parts:
        with tempfile.TemporaryDirectory() as tmp:
            baseline = None if args.no_baseline else args.baseline
            side_by_side(Path(tmp), args.repeat, args.rows, args.features, baseline, args.compare)
    if "big" in parts:
        with tempfile.TemporaryDirectory() as tmp:
            round_trip(Path(tmp), args.big_mb)
    if "commits" in parts:
        with tempfile.TemporaryDirectory() as tmp:
            concurrent_commits(Path(tmp), args.commits)
    if "memory" in parts:
        for mode in ("full", "server-only"):
            with tempfile.TemporaryDirectory() as tmp:
                hostile_memory(Path(tmp), args.clients, args.big_mb, mode)


if __name__ == "__main__":
    main()
