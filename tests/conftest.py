"""Shared pytest fixtures. Each fixture is self-contained; append new ones at the end."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
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
    server : gmm_hub.localhub._server.LocalHub
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
def local_hub(tmp_path):
    """A :class:`gmm_hub.localhub._server.LocalHub` on 127.0.0.1 with users alice and bob.

    The client is pointed at it with :func:`gmm_hub.hub._transfer.use_endpoint` (the
    same function ``gmm-hub quickstart`` uses): it sets HF_ENDPOINT, HF_HOME
    (a per-test directory) and friends in the environment, for subprocesses
    (``hf``, ``python -c``), and in ``huggingface_hub.constants`` plus the
    module-level ``HfApi``, for this process; HF_TOKEN and HF_HUB_OFFLINE are
    unset. Everything is restored after the test. Passing
    ``endpoint=local_hub.url`` explicitly (``local_hub.api(user)``) works too.
    """
    from gmm_hub.hub._transfer import use_endpoint
    from gmm_hub.localhub._server import LocalHub

    tokens = {"alice": "hf_local_alice_test_token", "bob": "hf_local_bob_test_token"}
    hf_home = tmp_path / "hf_home"
    hub = LocalHub(tmp_path / "hub_root", tokens=tokens).start()
    try:
        with use_endpoint(hub.url, hf_home=hf_home):
            yield LocalHubFixture(url=hub.url, tokens=tokens, server=hub, root=tmp_path / "hub_root", hf_home=hf_home)
    finally:
        hub.stop()


# --- mixed_frame: a small mixed-type table for bundle and schema tests ----------
@pytest.fixture(scope="session")
def mixed_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """Two numeric columns and one categorical, 60 rows, one in four positive."""
    rng = np.random.default_rng(0)
    y = (np.arange(60) % 4 == 0).astype(int)
    X = pd.DataFrame(
        {
            "amount": rng.normal(10 + 4 * y, 2),
            "age": rng.normal(40 - 6 * y, 5).round(),
            "channel": np.where(rng.random(60) < 0.4 + 0.4 * y, "web", "shop"),
        }
    )
    return X, y


# --- mixed_model: tabular_pipeline() fitted on mixed_frame ---------------------
@pytest.fixture(scope="session")
def mixed_model(mixed_frame) -> tuple[Any, pd.DataFrame, np.ndarray]:
    """``(model, X, y)``: a one-component diagonal ``tabular_pipeline()`` fitted on
    :func:`mixed_frame`. Shared by the whole session: never refit or change it."""
    import gmm_hub

    X, y = mixed_frame
    model = gmm_hub.tabular_pipeline(n_components=1, covariance_type="diag", random_state=0)
    return model.fit(X, y), X, y


# --- adult_file: the real Adult data from ../shared/data ---------------------------
@pytest.fixture(scope="session")
def adult_file() -> Path:
    """The UCI Adult training file (32,561 rows) from ``$GMM_HUB_SHARED_DATA`` or ``../shared/data``
    beside the repo; skips, saying where it looked, when it is absent."""
    root = os.environ.get("GMM_HUB_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"
    path = Path(root) / "adult.data"
    if not path.is_file():
        pytest.skip(f"Adult data not found at {path}: put the repo beside ../shared or set GMM_HUB_SHARED_DATA")
    return path
