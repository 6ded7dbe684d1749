"""The local Hub's human pages: the card renderer (pure) and the page routes (through a running server)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from gmm_hub.localhub._pages import (
    PAGE_HEADERS,
    CommitView,
    FileEntry,
    RepoView,
    render_card,
    render_commits_page,
    render_error_page,
    render_repo_page,
    render_tree_page,
)

REPO = RepoView("model", "alice/demo", "main", "a" * 40, branches=("main", "dev"))

CARD = """---
license: mit
library_name: gmm_hub
pipeline_tag: tabular-classification
tags:
- gaussian-mixture
- imbalanced
datasets:
- scikit-learn/breast-cancer
model-index:
- name: breast-cancer-gmm
  results:
  - task:
      type: tabular-classification
    dataset:
      type: scikit-learn/breast-cancer
      name: breast_cancer
      split: test
    metrics:
    - type: f1
      name: F1-macro
      value: 0.95123
    - type: balanced_accuracy
      name: balanced accuracy
      value: 0.9
---
# breast-cancer-gmm

| model | F1 |
|---|---:|
| gmm | 0.951 |

![Confusion matrix](confusion_matrix.png)
![PR](./plots/pr.png "the curve")
[config](config.json) [outside](../../etc/passwd) [site](https://example.org/x) [anchor](#summary)
"""

HOSTILE = """---
license: mit
---
# Title

<script>alert("script")</script>
<img src="x.png" onerror="alert('onerror')">
<a href="javascript:alert('js')">click</a> <a href="JaVaScRiPt:alert('js2')">again</a>
<a href="  javascript:alert('js3')">spaced</a>
[md link](javascript:alert('md'))
<div onclick="alert('onclick')" style="position:fixed">div</div>
<iframe src="https://example.org"></iframe>
<svg onload="alert('svg')"><circle/></svg>
<object data="x.swf"></object><embed src="x.swf">
<form action="https://example.org"><input name="q"></form>
<a href="data:text/html,<script>alert(1)</script>">data</a>
<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">
<style>body{display:none}</style>
<meta http-equiv="refresh" content="0;url=javascript:alert(1)">
"""


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _assert_inert(html: str) -> None:
    for tag, attrs in _tags(html):
        assert tag not in ("script", "iframe", "object", "embed", "form", "input", "meta", "style", "svg", "base")
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src", "action", "data"):
                assert not re.match(r"\s*(javascript|data|vbscript):", value or "", re.I), (tag, name, value)


# --- the card -------------------------------------------------------------------
def test_render_card_hides_front_matter_and_shows_chips():
    card = render_card(CARD, REPO)
    assert "license: mit" not in card.body_html and "model-index" not in card.body_html
    labels = [(c["kind"], c["label"]) for c in card.chips]
    assert labels == [
        ("pipeline", "Tabular Classification"),
        ("library", "gmm_hub"),
        ("dataset", "scikit-learn/breast-cancer"),
        ("tag", "gaussian-mixture"),
        ("tag", "imbalanced"),
        ("license", "License: mit"),
    ]
    assert card.chips[2]["href"] == "/datasets/scikit-learn/breast-cancer"


def test_render_card_eval_panel_from_model_index():
    rows = render_card(CARD, REPO).eval_rows
    assert [(r["metric"], r["value"], r["dataset"], r["split"]) for r in rows] == [
        ("F1-macro", "0.951", "breast_cancer", "test"),
        ("balanced accuracy", "0.900", "breast_cancer", "test"),
    ]
    assert all(r["verified"] == "self-reported" for r in rows)


def test_render_card_tables_and_images_resolved_from_repo():
    html = render_card(CARD, REPO).body_html
    assert '<th style="text-align:right">F1</th>' in html
    srcs = [attrs["src"] for tag, attrs in _tags(html) if tag == "img"]
    assert srcs == ["/alice/demo/resolve/main/confusion_matrix.png", "/alice/demo/resolve/main/plots/pr.png"]
    hrefs = {attrs.get("href") for tag, attrs in _tags(html) if tag == "a"}
    assert "/alice/demo/resolve/main/config.json" in hrefs
    assert "https://example.org/x" in hrefs and "#summary" in hrefs
    assert not any("passwd" in (h or "") for h in hrefs)  # a path leaving the repo is dropped


def test_render_card_resolves_against_the_page_revision():
    repo = RepoView("dataset", "bob/data", "feature/x", "b" * 40)
    srcs = [a["src"] for t, a in _tags(render_card("![a](img.png)", repo).body_html) if t == "img"]
    assert srcs == ["/datasets/bob/data/resolve/feature%2Fx/img.png"]


def test_render_card_sanitiser_removes_script_handlers_and_javascript_urls():
    html = render_card(HOSTILE, REPO).body_html
    _assert_inert(html)
    assert "alert" not in html.replace("alert('md')", "")  # only the inert Markdown text remains
    assert "<h1>Title</h1>" in html and ">click</a>" in html


def test_render_card_invalid_yaml_shows_body_and_error():
    card = render_card("---\nlicense: [unclosed\n---\n# Still here\n", REPO)
    assert card.metadata_error and "YAML" in card.metadata_error
    assert "<h1>Still here</h1>" in card.body_html and "unclosed" not in card.body_html
    assert card.chips == []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "<script>alert(1)</script>",
                '<img src=x onerror="alert(1)">',
                "<a href='javascript:alert(1)'>x</a>",
                '<a href="java&#115;cript:alert(1)">y</a>',
                "<p onmouseover=alert(1)>p</p>",
                "<scr<script>ipt>alert(1)</script>",
                "[z](javascript:alert(1))",
                "`<script>`",
                "<svg><script>alert(1)</script></svg>",
                "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
                "\n\n| a |\n|---|\n| <b onclick=alert(1)>b</b> |\n\n",
                "plain *text*",
                "<details><summary>s</summary>d</details>",
                "\n---\n",
            ]
        ),
        max_size=8,
    )
)
def test_render_card_never_lets_script_through(pieces):
    _assert_inert(render_card("".join(pieces), REPO).body_html)


# --- whole pages ------------------------------------------------------------------
def test_render_repo_page_escapes_and_embeds_the_card():
    html = render_repo_page(REPO, CARD)
    assert "<title>alice/demo &middot; local Hub</title>" in html
    assert 'id="eval-results"' in html and "F1-macro" in html
    assert html.count('class="chip ') == 6
    assert "<script" not in html


def test_render_repo_page_without_readme():
    html = render_repo_page(REPO, None)
    assert "has no README.md" in html and 'id="eval-results"' not in html


def test_render_tree_page_lists_folders_first_with_sizes_and_lfs():
    entries = [
        FileEntry("README.md", 1234),
        FileEntry("model.skops", 20_000_000, lfs_sha256="ab" * 32),
        FileEntry("plots", kind="directory"),
    ]
    html = render_tree_page(REPO, "", entries, CommitView("c" * 40, "add <model>", "alice", "2026-01-01T00:00:00Z"))
    names = re.findall(r'<td class="name"><a href="([^"]+)">([^<]+)</a>', html)
    assert names == [
        ("/alice/demo/tree/main/plots", "plots/"),
        ("/alice/demo/resolve/main/model.skops", "model.skops"),
        ("/alice/demo/resolve/main/README.md", "README.md"),
    ]
    assert "20.0 MB" in html and "1.2 kB" in html and html.count(">LFS</span>") == 1
    assert "add &lt;model&gt;" in html  # commit titles are escaped


def test_render_commits_page_and_error_page_escape_text():
    commits = [CommitView("d" * 40, "<b>bold</b>", "alice", "2026-01-02T00:00:00Z")]
    html = render_commits_page(REPO, commits)
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "/alice/demo/tree/" + "d" * 40 in html
    assert "&lt;script&gt;" in render_error_page(404, "<script>x</script>")


def test_page_headers_forbid_scripts():
    policy = PAGE_HEADERS["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy


def test_render_card_chips_do_not_repeat_library_or_task():
    card = render_card(
        "---\nlibrary_name: gmm_hub\npipeline_tag: tabular-classification\n"
        "tags: [gmm_hub, tabular-classification, gmm, gmm]\n---\n# x\n",
        REPO,
    )
    assert [c["label"] for c in card.chips] == ["Tabular Classification", "gmm_hub", "gmm"]


# --- the page routes, on a running server ---------------------------------------------------
def _get(local_hub, path: str, user: str | None = None):
    import httpx2

    headers = {"Authorization": f"Bearer {local_hub.tokens[user]}"} if user else {}
    return httpx2.get(local_hub.url + path, headers=headers)


def test_pages_model_page_renders_pushed_card(local_hub):
    api = local_hub.api("alice")
    api.create_repo("alice/demo")
    api.upload_file(path_or_fileobj=CARD.encode(), path_in_repo="README.md", repo_id="alice/demo")
    reply = _get(local_hub, "/alice/demo")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    assert reply.headers["Content-Security-Policy"] == PAGE_HEADERS["Content-Security-Policy"]
    assert "<h1>breast-cancer-gmm</h1>" in reply.text and 'id="eval-results"' in reply.text
    assert "model-index" not in reply.text
    assert '<img src="/alice/demo/resolve/main/confusion_matrix.png"' in reply.text


def test_pages_private_repo_is_404_for_others(local_hub):
    api = local_hub.api("alice")
    api.create_repo("alice/secret", private=True)
    api.upload_file(path_or_fileobj=b"# Secret card\n", path_in_repo="README.md", repo_id="alice/secret")
    missing = _get(local_hub, "/alice/never-created")
    for path in ("/alice/secret", "/alice/secret/tree/main", "/alice/secret/commits/main"):
        for user in (None, "bob"):
            reply = _get(local_hub, path, user)
            assert reply.status_code == 404 and "Secret" not in reply.text, (path, user)
            assert reply.text == missing.text  # indistinguishable from a repo that does not exist
    assert "Secret card" in _get(local_hub, "/alice/secret", "alice").text
    assert "alice/secret" not in _get(local_hub, "/", "bob").text
    assert "alice/secret" in _get(local_hub, "/", "alice").text


def test_pages_private_organisation_repo_visible_to_members_only(tmp_path):
    import httpx2
    from huggingface_hub import HfApi

    from gmm_hub.localhub import LocalHub

    tokens = {"alice": "hf_alice_token", "bob": "hf_bob_token"}
    with LocalHub(tmp_path / "root", tokens=tokens, orgs={"acme": ["alice"]}) as hub:
        HfApi(endpoint=hub.url, token=tokens["alice"]).create_repo("acme/internal", private=True)

        def index(user):
            return httpx2.get(hub.url + "/", headers={"Authorization": f"Bearer {tokens[user]}"}).text

        def repo_page(user):
            return httpx2.get(hub.url + "/acme/internal", headers={"Authorization": f"Bearer {tokens[user]}"})

        assert "acme/internal" in index("alice") and repo_page("alice").status_code == 200
        assert "acme/internal" not in index("bob") and repo_page("bob").status_code == 404


def test_pages_tree_per_revision_and_commits(local_hub):
    api = local_hub.api("alice")
    api.create_repo("alice/demo")
    api.upload_file(path_or_fileobj=b"v1", path_in_repo="data/a.txt", repo_id="alice/demo", commit_message="one")
    api.create_branch("alice/demo", branch="feature/x")
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="b.txt", repo_id="alice/demo", revision="feature/x")
    main, feature = _get(local_hub, "/alice/demo/tree/main").text, _get(local_hub, "/alice/demo/tree/feature%2Fx").text
    assert ">data/</a>" in main and ">b.txt</a>" not in main
    assert ">b.txt</a>" in feature and 'href="/alice/demo/resolve/feature%2Fx/b.txt"' in feature
    sub = _get(local_hub, "/alice/demo/tree/main/data")
    assert sub.status_code == 200 and ">a.txt</a>" in sub.text
    assert _get(local_hub, "/alice/demo/tree/main/nope").status_code == 404
    assert _get(local_hub, "/alice/demo/tree/no-such-branch").status_code == 404
    commits = _get(local_hub, "/alice/demo/commits/main").text
    assert re.findall(r'<span class="title">([^<]+)</span>', commits) == ["one", "initial commit"]


def test_pages_dataset_page(local_hub):
    api = local_hub.api("alice")
    api.create_repo("alice/table", repo_type="dataset")
    card = "---\nlicense: cc-by-4.0\ntask_categories: [tabular-classification]\n---\n# A table\n"
    api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id="alice/table", repo_type="dataset")
    reply = _get(local_hub, "/datasets/alice/table")
    assert reply.status_code == 200 and "<h1>A table</h1>" in reply.text
    assert "License: cc-by-4.0" in reply.text and "Dataset card" in reply.text
    assert _get(local_hub, "/alice/table").status_code == 404  # not a model


def test_pages_leave_api_paths_to_the_api(local_hub):
    for path in ("/api/unknown", "/api/models/", "/datasets/alice", "/models/x/tree/main"):
        reply = _get(local_hub, path)
        assert reply.status_code == 404 and reply.headers["content-type"].startswith("application/json"), path
        assert "location" not in reply.headers  # no redirect to a page either


def test_templates_are_package_data():
    import fnmatch
    from importlib import resources
    from pathlib import Path

    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    line = re.search(r'^"gmm_hub\.localhub" = \[(.*)\]$', pyproject, re.MULTILINE)  # under package-data
    globs = re.findall(r'"([^"]+)"', line.group(1))
    templates = resources.files("gmm_hub.localhub") / "templates"
    names = [entry.name for entry in templates.iterdir() if entry.is_file()]
    assert "base.html" in names and "style.css" in names
    for name in names:  # every template ships in the wheel
        assert any(fnmatch.fnmatch(f"templates/{name}", pattern) for pattern in globs), name


def test_pages_community_tab_lists_pull_requests_and_shows_one(local_hub):
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    api, bob = local_hub.api("alice"), local_hub.api("bob")
    api.create_repo("alice/demo")
    api.upload_file(path_or_fileobj=b"v1", path_in_repo="a.txt", repo_id="alice/demo")
    assert "No discussions or pull requests yet" in _get(local_hub, "/alice/demo/discussions").text
    ops = [CommitOperationAdd("b.txt", b"new"), CommitOperationDelete("a.txt")]
    info = bob.create_commit("alice/demo", operations=ops, commit_message="<b>swap</b> files", create_pr=True)
    listing = _get(local_hub, "/alice/demo/discussions").text
    assert 'href="/alice/demo/discussions/1">#1 &lt;b&gt;swap&lt;/b&gt; files</a>' in listing  # escaped
    assert '<a class="tab active" href="/alice/demo/discussions">Community</a>' in listing
    pull = _get(local_hub, "/alice/demo/discussions/1")
    assert pull.status_code == 200
    assert "bob wants to merge <code>refs/pr/1</code> into <code>main</code>" in pull.text
    assert f'href="/alice/demo/resolve/{info.oid}/b.txt">b.txt</a>' in pull.text
    assert re.findall(r'<span class="badge">(\w+)</span> (?:<a [^>]+>)?([\w.]+)', pull.text) == [
        ("deleted", "a.txt"),
        ("added", "b.txt"),
    ]
    assert 'href="/alice/demo/tree/refs%2Fpr%2F1"' in pull.text
    assert ">b.txt</a>" in _get(local_hub, "/alice/demo/tree/refs%2Fpr%2F1").text
    assert _get(local_hub, "/alice/demo/discussions/2").status_code == 404
    assert _get(local_hub, "/alice/demo/discussions/x").status_code == 404
