"""Share bundles through a Hugging Face Hub: :func:`push` and :func:`pull`.

Every request goes through ``huggingface_hub`` (``HfApi.create_commit``,
``snapshot_download``), so ``HF_TOKEN``, ``HF_ENDPOINT``, ``HF_HOME`` and
``HF_HUB_OFFLINE`` mean what they mean for any other Hub library and files
land in the standard Hub cache. ``gmm_hub.load("user/repo")`` calls
:func:`pull` and then loads the snapshot like a local bundle, with the same
hash and type checks.

- :func:`push` runs every check of ``load`` (:func:`gmm_hub.bundle._checks.open_bundle`),
  creates the repo if needed and uploads the files ``config.json`` lists,
  plus ``config.json`` itself, in one commit, optionally tagged.
- :func:`pull` downloads only bundle files (never ``model.joblib`` unless
  asked) and checks them against ``config.json``.
- :class:`gmm_hub.hub._mixin.GMMHubModel` offers huggingface_hub's
  ``ModelHubMixin`` convention on top of them.
- :func:`use_endpoint` points this process's huggingface_hub client at
  another Hub (the local server of ``gmm-hub quickstart`` and the tests).

Tokens are never logged or put into messages.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from huggingface_hub import CommitOperationAdd, HfApi, constants, get_token, snapshot_download

from .. import _constants as C
from ..bundle._checks import Checked, open_bundle, read_checked, read_config, read_config_raw, safe_member
from ..exceptions import GMMHubError, HubError, IntegrityError, InvalidInputError, UntrustedModelError

__all__ = ["check_out_dir", "copy_bundle", "pull", "pull_checked", "push", "use_endpoint"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: What :func:`pull` downloads: the bundle, never anything else in the repo.
BUNDLE_PATTERNS = (C.CONFIG_FILE, C.SKOPS_FILE, C.CARD_FILE, "*.png")
NO_TOKEN = (
    "pushing needs a Hugging Face token with write access: set the HF_TOKEN environment variable "
    "or run `hf auth login` (gmm_hub.push also takes token=...)."
)
_MAX_429_RETRIES = 3
_MAX_RETRY_AFTER = 60.0


# ----------------------------------------------------------------------------- errors


def _scrub(text: str, token: str | None) -> str:
    for secret in (token, os.environ.get("HF_TOKEN"), os.environ.get("HUGGING_FACE_HUB_TOKEN")):
        if secret:
            text = text.replace(secret, "***")
    return text


def _hub_error(
    err: Exception, action: str, repo_id: str, *, token: str | None, revision: str | None = None
) -> HubError:
    """Translate a huggingface_hub/httpx error into one clear :class:`HubError` (no token inside)."""
    import httpx2
    from huggingface_hub.errors import (
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{repo_id!r} at {constants.ENDPOINT}"
    status = getattr(getattr(err, "response", None), "status_code", None)
    text = getattr(err, "server_message", None) or str(err)  # the Hub's own words when it sent some
    detail = " ".join(_scrub(text, token).split())[:300] or type(err).__name__
    if isinstance(err, HFValidationError):
        message = f"{repo_id!r} is not a valid Hub repo id ({detail}); expected 'user/name'."
    elif isinstance(err, RevisionNotFoundError):
        message = f"revision {revision!r} does not exist in {where}; check the branch, tag or commit."
    elif isinstance(err, RepositoryNotFoundError) or (status == 404 and action == "download"):
        message = (
            f"repository {where} was not found, or it is private and the token (if any) may not read "
            "it. Check the id, or set HF_TOKEN / run `hf auth login` as a user who can read it."
        )
    elif status == 401:
        message = (
            f"the Hub refused the token while trying to {action} {where} (401 Unauthorized). "
            "Set a valid HF_TOKEN or run `hf auth login` again."
        )
    elif status == 403:
        message = (
            f"the token may not {action} {where} (403 Forbidden). Push to your own namespace (or an "
            "organisation you belong to) with a token that has write access."
        )
    elif status == 409:
        message = f"could not {action} {where}: it conflicts with what exists (409: {detail})."
    elif status == 501:
        message = f"could not {action} {where}: that server does not implement it (501: {detail})."
    elif isinstance(err, HfHubHTTPError):
        message = (
            f"could not {action} {where}: the Hub answered HTTP {status} ({detail}). "
            "Nothing local was changed; try again later."
        )
    elif isinstance(err, LocalEntryNotFoundError):
        cause = err.__cause__
        why = (
            "HF_HUB_OFFLINE=1 or no network"
            if cause is None
            else f"{type(cause).__name__}: " + (_scrub(str(cause), token).strip().splitlines() or [""])[0]
        )
        message = (
            f"{where} (revision {revision or 'main'!r}) is not fully in the local cache and the Hub "
            f"could not be reached ({why}). Download it once while the Hub is reachable."
        )
    elif isinstance(err, httpx2.TransportError):
        message = (
            f"could not {action} {where}: the connection failed ({type(err).__name__}: {detail}). "
            "Nothing local was changed; check HF_ENDPOINT and the network, then try again."
        )
    else:
        message = f"could not {action} {where} ({type(err).__name__}: {detail})."
    return HubError(_scrub(message, token))


def _hub_errors() -> tuple[type[Exception], ...]:
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalEntryNotFoundError

    return (HfHubHTTPError, HFValidationError, LocalEntryNotFoundError, httpx2.TransportError)


def _retry_after(err: BaseException) -> float | None:
    """Seconds to wait before retrying a 429 answer, or None when it is not one."""
    response = getattr(err, "response", None)
    if response is None or getattr(response, "status_code", None) != 429:
        return None
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def _call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn``; on HTTP 429 wait ``Retry-After`` seconds and retry (a 429 changed nothing)."""
    for attempt in range(_MAX_429_RETRIES + 1):
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            wait = _retry_after(err)
            if wait is None or attempt == _MAX_429_RETRIES or wait > _MAX_RETRY_AFTER:
                raise
            logger.warning("the Hub is rate limiting (429); retrying in %.1f s", wait)
            time.sleep(wait)
    raise AssertionError("unreachable")


# ----------------------------------------------------------------------------- push


def _bundle_operations(bundle: Path, *, allow_pickle: bool) -> tuple[dict[str, Any], list[CommitOperationAdd]]:
    """Run every check of :func:`gmm_hub.load` on ``bundle``; one upload per checked file, from the checked bytes.

    What is uploaded is exactly what was verified: ``config.json`` and each
    file it lists are read once, checked, and handed to the commit as bytes,
    so a file swapped after the check is never uploaded.
    """
    try:
        checked = open_bundle(bundle, allow_pickle=allow_pickle, unpickle=False, require_all=True)
    except GMMHubError as err:
        raise HubError(
            f"refusing to push {bundle}: it failed verification ({err}). "
            f"Fix or re-save the bundle (`gmm-hub verify {bundle}` shows every check)."
        ) from err
    operations = [CommitOperationAdd(path_in_repo=C.CONFIG_FILE, path_or_fileobj=checked.config_bytes)]
    for name, data in sorted(checked.files.items()):
        operations.append(CommitOperationAdd(path_in_repo=name, path_or_fileobj=data))
    unlisted = sorted(p.name for p in bundle.iterdir() if p.name not in checked.files and p.name != C.CONFIG_FILE)
    if unlisted:
        logger.info("not pushing files config.json does not list: %s", ", ".join(unlisted))
    return checked.config, operations


def push(
    bundle: str | os.PathLike[str],
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    tag: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    create_pr: bool = False,
    allow_pickle: bool = False,
) -> str:
    """Upload a verified bundle to a Hub repo in one commit.

    Parameters
    ----------
    bundle : str or path-like
        The bundle directory (``gmm_hub.save`` + ``gmm_hub.write_card``).
    repo_id : str
        ``"user/name"``; the repo is created when missing.
    private : bool, default=False
        Create the repo private (an existing repo keeps its visibility).
    revision : str, default=None
        Branch to commit to (created from ``main`` when missing); ``main`` if None.
    tag : str, default=None
        Tag the new commit, e.g. ``"v1"``, so it can be loaded with ``revision="v1"``.
    commit_message : str, default=None
        Defaults to ``"Upload gmm_hub bundle (<estimator class>)"``.
    token : str, default=None
        A write token; by default huggingface_hub's (``HF_TOKEN``, then ``hf auth login``).
    create_pr : bool, default=False
        Open a pull request with the commit instead of committing to the branch.
    allow_pickle : bool, default=False
        Allow pushing a ``model.joblib`` bundle (its types cannot be audited).

    Returns
    -------
    url : str
        URL of the new commit, or with ``create_pr`` of the pull request
        (load it with ``revision="refs/pr/<n>"``).

    Raises
    ------
    HubError
        If no token is available, the bundle fails verification, or the Hub refuses or fails.

    Examples
    --------
    >>> gmm_hub.push("bundles/bc", "alice/bc-gmm", tag="v1")  # doctest: +SKIP
    """
    bundle = Path(bundle)
    if tag is not None and create_pr:
        raise InvalidInputError("tag cannot be combined with create_pr: tag the commit once the PR is merged.")
    config, operations = _bundle_operations(bundle, allow_pickle=allow_pickle)
    token = token or get_token()
    if not token:
        raise HubError(NO_TOKEN)
    api = HfApi(token=token)
    action = "push to"
    try:
        _call(api.create_repo, repo_id, private=private, exist_ok=True)
        if tag is not None and tag in {ref.name for ref in _call(api.list_repo_refs, repo_id).tags}:
            raise HubError(
                f"tag {tag!r} already exists in {repo_id!r}; nothing was pushed. Tags name one "
                "commit for good: choose a new tag (e.g. the next version)."
            )
        if revision is not None and revision != constants.DEFAULT_REVISION:
            _call(api.create_branch, repo_id, branch=revision, exist_ok=True)
        info = _call(
            api.create_commit,
            repo_id,
            operations=operations,
            revision=revision,
            create_pr=create_pr,
            commit_message=commit_message or f"Upload gmm_hub bundle ({config['model'].get('estimator', 'model')})",
        )
        if tag is not None:
            action = f"tag {tag!r} in"
            _call(api.create_tag, repo_id, tag=tag, revision=info.oid)
    except _hub_errors() as err:
        raise _hub_error(err, action, repo_id, token=token, revision=revision) from err
    logger.info("pushed %s to %s (commit %s%s)", bundle, repo_id, info.oid, f", tag {tag}" if tag else "")
    return str(info.pr_url if create_pr and info.pr_url else info.commit_url)


# ----------------------------------------------------------------------------- pull


def pull(
    repo_id: str,
    *,
    revision: str | None = None,
    token: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    force_download: bool = False,
    local_files_only: bool = False,
    allow_pickle: bool = False,
) -> Path:
    """Download a bundle into the Hub cache and return its snapshot directory.

    Only ``config.json``, ``model.skops``, ``README.md`` and ``*.png`` are
    fetched (plus ``model.joblib`` with ``allow_pickle``). With a warm cache
    and ``revision`` a commit sha, no request is made; for a branch or tag
    one request resolves it (none with ``HF_HUB_OFFLINE=1``).

    Parameters
    ----------
    repo_id : str
        ``"user/name"``.
    revision : str, default=None
        Branch, tag or commit sha; ``main`` if None.
    token : str, default=None
        Read token for private repos; by default huggingface_hub's.
    cache_dir : path-like, default=None
        Hub cache directory; ``HF_HUB_CACHE`` (``$HF_HOME/hub``) if None.
    force_download, local_files_only : bool, default=False
        As for :func:`huggingface_hub.snapshot_download`.
    allow_pickle : bool, default=False
        Also download ``model.joblib``.

    Returns
    -------
    path : Path
        The snapshot directory, checked against its ``config.json``.

    Raises
    ------
    HubError
        If the repo or revision cannot be read, or is not cached while offline.
    BundleError, IntegrityError
        If what was downloaded is not a sound bundle.
    UntrustedModelError
        If the bundle's model is a pickle and ``allow_pickle`` is False.
    """
    return pull_checked(
        repo_id,
        revision=revision,
        token=token,
        cache_dir=cache_dir,
        force_download=force_download,
        local_files_only=local_files_only,
        allow_pickle=allow_pickle,
    )[0]


def pull_checked(
    repo_id: str,
    *,
    revision: str | None = None,
    token: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    force_download: bool = False,
    local_files_only: bool = False,
    allow_pickle: bool = False,
) -> tuple[Path, Checked]:
    """:func:`pull`, also returning what was checked: the config and the bytes of each file.

    ``gmm_hub.load("user/repo")`` builds the model from those bytes, so the
    snapshot is read and hashed once.
    """
    patterns = [*BUNDLE_PATTERNS, *([C.JOBLIB_FILE] if allow_pickle else [])]

    def download(force: bool) -> Path:
        try:
            return Path(
                _call(
                    snapshot_download,
                    repo_id,
                    revision=revision,
                    token=token,
                    cache_dir=cache_dir,
                    allow_patterns=patterns,
                    force_download=force,
                    local_files_only=local_files_only,
                )
            )
        except _hub_errors() as err:
            raise _hub_error(err, "download", repo_id, token=token, revision=revision) from err

    path = download(force_download)
    config, raw = read_config_raw(path)
    if config["model"].get("format", "skops") != "skops" and not allow_pickle:
        raise UntrustedModelError(
            f"{repo_id!r} holds a pickle-based {config['model'].get('file')!r}, which can run arbitrary code "
            "when loaded; it was not downloaded. Only if you fully trust the repo's author: pass "
            f"trust_remote_pickle={repo_id!r} to gmm_hub.load (allow_pickle applies to local files only), "
            "or allow_pickle=True to pull (CLI: gmm-hub pull --allow-pickle)."
        )
    try:
        checked = read_checked(path, config=(config, raw))
    except IntegrityError:
        if local_files_only or constants.HF_HUB_OFFLINE:
            raise
        logger.warning("a cached file of %s failed its sha256 check; downloading the bundle again", repo_id)
        path = download(True)
        checked = read_checked(path)
    return path, checked


def check_out_dir(out: Path) -> None:
    """Raise :class:`HubError` unless ``out`` is missing or an empty directory."""
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise HubError(f"{out} already exists and is not empty; choose another --out or remove it.")


def copy_bundle(source: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Copy a bundle's files (``config.json`` and the files it lists) into a new directory ``out``, atomically.

    Raises
    ------
    HubError
        If ``out`` exists and is not an empty directory.
    """
    source, out = Path(source), Path(out)
    check_out_dir(out)
    config = read_config(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{secrets.token_hex(6)}"
    tmp.mkdir()
    try:
        for name in [C.CONFIG_FILE, *config["files"]]:
            src = safe_member(source, name)
            if src.is_file():
                dst = safe_member(tmp, name)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)  # follows the cache's symlinks
        if out.exists():
            out.rmdir()
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


# ----------------------------------------------------------------------------- endpoint


@contextlib.contextmanager
def use_endpoint(url: str, *, hf_home: str | os.PathLike[str] | None = None, token: str | None = None) -> Iterator[str]:
    """Point huggingface_hub at another Hub endpoint for this process (and its subprocesses).

    huggingface_hub reads ``HF_ENDPOINT``, ``HF_HOME`` and friends into
    ``huggingface_hub.constants`` once, at import, and builds its
    module-level ``HfApi`` with that endpoint, so setting the environment
    is too late inside a running process. This sets both the environment
    (for subprocesses such as ``hf``) and those constants, and restores
    everything on exit. Offline mode is off inside the block, and so is Xet
    (uploads go through the LFS batch API: the local Hub serves Xet uploads
    too, but LFS spares the chunking).

    A token saved for one endpoint is never sent to another: ``HF_TOKEN`` is
    replaced by ``token`` (or removed), OIDC exchange (``HF_OIDC_RESOURCE``)
    is switched off, and without ``hf_home`` the token file huggingface_hub
    reads (``HF_TOKEN_PATH``, and ``stored_tokens`` beside it) moves to a
    directory of this endpoint's own, ``$HF_HOME/gmm_hub/endpoints/<sha256 of
    url>/``: ``hf auth login`` run inside the block saves a token there, for
    this endpoint only, and the ``hf auth login`` token of huggingface.co stays
    out of reach.

    Parameters
    ----------
    url : str
        The endpoint, e.g. ``LocalHub(...).url``.
    hf_home : path-like, default=None
        Use this HF_HOME (cache, token file) instead of the current one. The
        Hub cache is keyed by repo id, not endpoint: give another Hub its own.
    token : str, default=None
        Token to expose as ``HF_TOKEN`` inside the block.

    Yields
    ------
    url : str
    """
    from huggingface_hub import hf_api

    env = {
        "HF_ENDPOINT": url,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_XET": "1",  # LFS, not Xet, for every upload (the local Hub serves both)
        "HF_TOKEN": token,
        "HUGGING_FACE_HUB_TOKEN": None,
        "HF_HUB_OFFLINE": None,
        "TRANSFORMERS_OFFLINE": None,
        "HUGGINGFACE_CO_STAGING": None,
        "HF_OIDC_RESOURCE": None,
        "HF_OIDC_ID_TOKEN": None,
    }
    patched: dict[str, Any] = {
        "ENDPOINT": url,
        "HUGGINGFACE_CO_URL_TEMPLATE": url + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_TELEMETRY": True,
        "HF_HUB_DISABLE_XET": True,
    }
    if hf_home is not None:
        home = Path(hf_home)
        env.update({"HF_HOME": str(home), "HF_HUB_CACHE": None, "HUGGINGFACE_HUB_CACHE": None, "HF_TOKEN_PATH": None})
        patched.update(
            {
                "HF_HOME": str(home),
                "HF_HUB_CACHE": str(home / "hub"),
                "HUGGINGFACE_HUB_CACHE": str(home / "hub"),
                "HF_ASSETS_CACHE": str(home / "assets"),
                "HF_XET_CACHE": str(home / "xet"),
                "HF_TOKEN_PATH": str(home / "token"),
                "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
            }
        )
    else:
        digest = hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]
        token_path = Path(constants.HF_HOME) / "gmm_hub" / "endpoints" / digest / "token"
        env["HF_TOKEN_PATH"] = str(token_path)
        patched.update(
            {"HF_TOKEN_PATH": str(token_path), "HF_STORED_TOKENS_PATH": str(token_path.parent / "stored_tokens")}
        )
    saved_env = {name: os.environ.get(name) for name in env}
    missing = object()
    saved_constants = {name: getattr(constants, name, missing) for name in patched}
    saved_endpoint = hf_api.api.endpoint
    try:
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for name, value in patched.items():
            setattr(constants, name, value)
        hf_api.api.endpoint = url
        yield url
    finally:
        hf_api.api.endpoint = saved_endpoint
        for name, saved in saved_constants.items():
            if saved is missing:
                delattr(constants, name)
            else:
                setattr(constants, name, saved)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
