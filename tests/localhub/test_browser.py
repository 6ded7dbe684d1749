"""The local Hub's pages in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

Playwright's Python package installs offline (the browser driver ships inside the
wheel) and drives the system's Chromium through ``executable_path``; its own
browser download is never used. :func:`load_page` is the harness: it opens a URL
and returns the console errors, uncaught exceptions, failed requests, the texts of
chosen elements and the size of every image. Skips with the reason when Chromium
or Playwright is missing (``.ci/run`` installs Chromium when it runs as root).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

CHROMIUM = os.environ.get("GMM_HUB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUICKSTART_REPO = "quickstart/breast-cancer-gmm"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason=f"Chromium not found at {CHROMIUM}")


@dataclass
class PageReport:
    """What a visitor's browser saw."""

    status: int
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    texts: dict[str, list[str]] = field(default_factory=dict)
    images: list[dict] = field(default_factory=list)
    probe: object = None


def load_page(
    url: str, screenshot: Path, *, selectors: tuple[str, ...] = (), probe: str = "() => null", timeout_ms: int = 30_000
) -> PageReport:
    """Open ``url`` in headless Chromium; report console errors, element texts and image sizes.

    Parameters
    ----------
    url : str
    screenshot : Path
        Where the full-page PNG goes.
    selectors : tuple of str
        CSS selectors whose visible elements' ``innerText`` is returned (``texts``).
    probe : str
        A JavaScript function evaluated in the page after load (``probe`` of the report).
    """
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    report = PageReport(status=0)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: report.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda err: report.console_errors.append(f"uncaught: {err}"))
            page.on("requestfailed", lambda r: report.console_errors.append(f"request failed: {r.url} {r.failure}"))

            def on_dialog(dialog) -> None:
                report.dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            response = page.goto(url, wait_until="load", timeout=timeout_ms)
            report.status = response.status if response else 0
            page.wait_for_load_state("networkidle", timeout=timeout_ms)
            for selector in selectors:
                report.texts[selector] = [el.inner_text() for el in page.locator(selector).all() if el.is_visible()]
            report.images = page.eval_on_selector_all(
                "img",
                """imgs => imgs.map(img => ({src: img.getAttribute('src'), complete: img.complete,
                    width: img.naturalWidth, height: img.naturalHeight,
                    shown: img.getBoundingClientRect().width > 0 && img.getBoundingClientRect().height > 0}))""",
            )
            report.probe = page.evaluate(probe)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return report


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    """``gmm-hub quickstart`` run for real, then its local Hub served again as its last line says.

    Yields ``(page_url, bundle_dir, hub)``: the URL the last line names, on the port of
    the server started here (the line says the default 8765, which a test cannot rely on).
    """
    from gmm_hub.cli import app
    from gmm_hub.localhub import LocalHub

    directory = tmp_path_factory.mktemp("quickstart")
    runner = CliRunner()
    result = runner.invoke(app, ["quickstart", "--dir", str(directory)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    match = re.search(
        r"`gmm-hub hub serve --root (\S+)`, then open (http://127\.0\.0\.1:8765(/\S+)) in a browser", last
    )
    assert match, last
    with LocalHub(Path(match.group(1))) as hub:
        yield hub.url + match.group(3), directory / "bundle", hub


def test_browser_quickstart_model_page(quickstart, tmp_path):
    url, bundle, hub = quickstart
    assert url == f"{hub.url}/{QUICKSTART_REPO}"
    shot = tmp_path / "model_page.png"
    report = load_page(
        url,
        shot,
        selectors=("#model-card h1", "#eval-results", "#model-card table", ".chip"),
    )
    assert report.status == 200
    assert report.console_errors == []
    title = re.search(r"^# (.+)$", (bundle / "README.md").read_text(), re.MULTILINE).group(1)
    assert report.texts["#model-card h1"] == [title]
    (panel,) = report.texts["#eval-results"]
    from huggingface_hub import ModelCard

    results = ModelCard.load(bundle / "README.md").data.eval_results
    assert "Evaluation results" in panel and results
    for result in results:  # every model-index metric is shown with its value, as the Hub shows it
        assert result.metric_name in panel and f"{result.metric_value:.3f}" in panel
    # the per-class table is visible (longer tables sit in closed <details>, whose text the browser hides)
    classes = json.loads((bundle / "config.json").read_text())["classes"]
    assert any(
        "recall" in table and all(str(c) in table for c in classes) for table in report.texts["#model-card table"]
    )
    assert "License: mit" in report.texts[".chip"] and "Tabular Classification" in report.texts[".chip"]
    figures = {img["src"].rsplit("/", 1)[-1]: img for img in report.images}
    for name in ("confusion_matrix.png", "precision_recall.png"):
        assert figures[name]["src"] == f"/{QUICKSTART_REPO}/resolve/main/{name}"
        assert figures[name]["complete"] and figures[name]["width"] > 0 and figures[name]["shown"], figures[name]
    assert shot.stat().st_size > 10_000
    # the figures and the model went up through LFS (binary files); the card did not
    repo = hub.store.get("model", *QUICKSTART_REPO.split("/"))
    files = repo.files(repo.resolve("main"))
    assert files["confusion_matrix.png"].lfs and files["model.skops"].lfs and files["README.md"].lfs is None


def test_browser_files_and_commits_pages(quickstart, tmp_path):
    url = quickstart[0]
    files = load_page(f"{url}/tree/main", tmp_path / "tree.png", selectors=("td.name",))
    assert files.console_errors == [] and files.status == 200
    assert {"README.md", "config.json", "model.skops", "confusion_matrix.png"} <= set(files.texts["td.name"])
    commits = load_page(f"{url}/commits/main", tmp_path / "commits.png", selectors=(".commit-list .title",))
    assert commits.console_errors == []
    assert commits.texts[".commit-list .title"] == ["gmm-hub quickstart", "initial commit"]


def test_browser_hostile_card_runs_nothing(local_hub, tmp_path):
    api = local_hub.api("alice")
    api.create_repo("alice/hostile")
    card = (
        "---\nlicense: mit\n---\n# Hostile\n\n"
        "<script>window.pwned = 'script'; alert('script')</script>\n"
        "<img src=\"missing.png\" onerror=\"window.pwned = 'onerror'; alert('onerror')\">\n"
        '<a id="js" href="javascript:window.pwned=\'link\'">link</a>\n'
        "<p onmouseover=\"window.pwned='hover'\">hover me</p>\n"
    )
    api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id="alice/hostile")
    report = load_page(
        f"{local_hub.url}/alice/hostile",
        tmp_path / "hostile.png",
        selectors=("#model-card h1",),
        probe="() => { document.querySelector('#model-card a')?.click(); "
        "document.querySelector('#model-card p')?.dispatchEvent(new MouseEvent('mouseover')); "
        "return window.pwned ?? null; }",
    )
    assert report.texts["#model-card h1"] == ["Hostile"]
    assert report.probe is None and report.dialogs == []
    # the only error a visitor's console shows is the card's own broken image link
    assert all("missing.png" in error or "404" in error for error in report.console_errors), report.console_errors


def test_browser_private_repo_is_a_404_for_visitors(local_hub, tmp_path):
    api = local_hub.api("alice")
    api.create_repo("alice/secret", private=True)
    api.upload_file(path_or_fileobj=b"# Secret card\n", path_in_repo="README.md", repo_id="alice/secret")
    report = load_page(f"{local_hub.url}/alice/secret", tmp_path / "secret.png", selectors=("main",))
    assert report.status == 404
    assert "Secret card" not in report.texts["main"][0] and "does not exist" in report.texts["main"][0]


def test_browser_discussion_page_shows_its_comments_and_none_runs(local_hub, tmp_path):
    alice, bob = local_hub.api("alice"), local_hub.api("bob")
    alice.create_repo("alice/demo")
    num = bob.create_discussion("alice/demo", title="Does it work?", description="It **fails** on my data.").num
    hostile = "<script>window.pwned='script'</script><b onmouseover=\"window.pwned='hover'\">Which</b> data?"
    alice.comment_discussion("alice/demo", num, hostile)
    page = load_page(
        f"{local_hub.url}/alice/demo/discussions/{num}",
        tmp_path / "discussion.png",
        selectors=(".pull h2", ".comment .card-body", ".comment .card-body strong"),
        probe="() => window.pwned ?? null",
    )
    assert page.console_errors == [] and page.status == 200 and page.probe is None and page.dialogs == []
    assert page.texts[".comment .card-body"] == ["It fails on my data.", "Which data?"]
    assert page.texts[".comment .card-body strong"] == ["fails"]  # Markdown rendered
    assert page.texts[".pull h2"][0].startswith(f"#{num} Does it work?")


def test_browser_community_tab_shows_a_pull_request_and_its_title_runs_nothing(local_hub, tmp_path):
    from huggingface_hub import CommitOperationAdd

    alice, bob = local_hub.api("alice"), local_hub.api("bob")
    alice.create_repo("alice/demo")
    hostile = "<img src=x onerror=\"window.pwned='title'; alert(1)\"> better weights"
    bob.create_commit("alice/demo", [CommitOperationAdd("w.bin", b"\0" * 64)], commit_message=hostile, create_pr=True)
    listing = load_page(
        f"{local_hub.url}/alice/demo/discussions", tmp_path / "community.png", selectors=(".discussions a.title",)
    )
    assert listing.console_errors == [] and listing.status == 200
    assert listing.texts[".discussions a.title"] == [f"#1 {hostile}"]  # shown as text
    pull = load_page(
        f"{local_hub.url}/alice/demo/discussions/1",
        tmp_path / "pull.png",
        selectors=(".pull h2", ".pull .commit-list .title", ".file-list li"),
        probe="() => window.pwned ?? null",
    )
    assert pull.console_errors == [] and pull.probe is None and pull.dialogs == [] and pull.images == []
    assert pull.texts[".pull .commit-list .title"] == [hostile]
    assert pull.texts[".file-list li"] == ["added w.bin"]
