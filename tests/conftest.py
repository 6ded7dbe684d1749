"""Shared pytest fixtures. Each fixture is self-contained; append new ones at the end."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest


# --- local_hub (owner: hubserver) ---------------------------------------------
@dataclass
class LocalHubFixture:
    """What the ``local_hub`` fixture yields.

    Attributes
    ----------
    url : str
        ``http://127.0.0.1:PORT`` of the running server.
    tokens : dict of str to str
        ``{"alice": ..., "bob": ...}``; each token writes to its user's namespace.
    server : gmm_hub._hub_server.LocalHub
        The server: ``inject_fault(...)``, ``requests``, ``count(...)``.
    root : Path
        Server storage directory.
    hf_home : Path
        Isolated HF_HOME of this test (the client cache is ``hf_home / "hub"``).
    """

    url: str
    tokens: dict[str, str]
    server: object
    root: Path
    hf_home: Path

    @property
    def cache_dir(self) -> Path:
        return self.hf_home / "hub"

    def api(self, user: str | None = None):
        """An ``HfApi`` on this server, authenticated as ``user`` (anonymous if None)."""
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.url, token=self.tokens[user] if user else False)

    def env(self, user: str | None = None, **extra: str) -> dict[str, str]:
        """Environment for a subprocess (``hf`` CLI, ``python -c``) talking to this server."""
        env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
        if user:
            env["HF_TOKEN"] = self.tokens[user]
        env.update(extra)
        return env


@pytest.fixture
def local_hub(tmp_path, monkeypatch):
    """A :class:`gmm_hub._hub_server.LocalHub` on 127.0.0.1 with users alice and bob.

    How the client is pointed at it: ``huggingface_hub`` reads ``HF_ENDPOINT``,
    ``HF_HOME`` and friends into ``huggingface_hub.constants`` once, at import,
    and builds the module-level ``HfApi`` (behind ``huggingface_hub.create_repo``
    etc.) with that endpoint. Setting the environment alone is therefore too
    late inside this process. The fixture does both:

    - ``monkeypatch.setenv`` of HF_ENDPOINT, HF_HOME, HF_HUB_CACHE (and unsets
      HF_TOKEN / HF_HUB_OFFLINE) so subprocesses (``hf``, ``python -c``) see them;
    - ``monkeypatch.setattr`` of ``constants.ENDPOINT``,
      ``constants.HUGGINGFACE_CO_URL_TEMPLATE``, the cache and token paths, and
      ``huggingface_hub.hf_api.api.endpoint`` so this process's calls
      (``hf_hub_download``, ``snapshot_download``, ``HfApi()``, module-level
      functions) go to the server and cache under a per-test HF_HOME.

    Everything is restored after the test. Passing ``endpoint=local_hub.url``
    explicitly (``local_hub.api(user)``) works too and is the most robust.
    """
    import huggingface_hub
    from huggingface_hub import constants, hf_api

    from gmm_hub._hub_server import LocalHub

    tokens = {"alice": "hf_local_alice_test_token", "bob": "hf_local_bob_test_token"}
    hf_home = tmp_path / "hf_home"
    hub = LocalHub(tmp_path / "hub_root", tokens=tokens).start()
    url = hub.url
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE",
                 "HUGGINGFACE_HUB_CACHE", "HF_TOKEN_PATH", "HUGGINGFACE_CO_STAGING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_UPDATE_CHECK", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    patched = {
        "ENDPOINT": url,
        "HUGGINGFACE_CO_URL_TEMPLATE": url + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HOME": str(hf_home),
        "HF_HUB_CACHE": str(hf_home / "hub"),
        "HUGGINGFACE_HUB_CACHE": str(hf_home / "hub"),
        "HF_ASSETS_CACHE": str(hf_home / "assets"),
        "HF_XET_CACHE": str(hf_home / "xet"),
        "HF_TOKEN_PATH": str(hf_home / "token"),
        "HF_STORED_TOKENS_PATH": str(hf_home / "stored_tokens"),
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_TELEMETRY": True,
    }
    for name, value in patched.items():
        monkeypatch.setattr(constants, name, value, raising=False)
    monkeypatch.setattr(hf_api.api, "endpoint", url)
    assert huggingface_hub.constants is constants
    try:
        yield LocalHubFixture(url=url, tokens=tokens, server=hub, root=tmp_path / "hub_root", hf_home=hf_home)
    finally:
        hub.stop()
