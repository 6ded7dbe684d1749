"""Save and load model bundles: a directory with ``model.skops`` and ``config.json``.

:func:`save` writes the bundle into a temporary directory beside the target
and renames it into place. :func:`load` runs the checks of
:func:`gmm_hub.bundle._checks.open_bundle` (``config.json``, every file's size
and sha256, gmm_hub's own allowlist walked node by node, bounds on what may be
decompressed, the fitted arrays) before the model is used. Pickle-based
``model.joblib`` files are read only from local paths with ``allow_pickle=True``,
or from the one Hub repo named by ``trust_remote_pickle``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

from .. import _constants as C
from ..exceptions import BundleError, InvalidInputError, UntrustedModelError
from ._archive import unpacked_size
from ._checks import BUNDLE_FORMAT, PICKLE_RISK, Checked, open_bundle
from ._config import FORMATS, build_config
from ._predictor import Predictor

__all__ = ["load", "looks_like_path", "save"]

logger = logging.getLogger(__name__)

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


# ----------------------------------------------------------------------------- save


def _file_entry(path: Path, *, archive: bool = False) -> dict[str, Any]:
    import hashlib

    data = path.read_bytes()
    entry: dict[str, Any] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    if archive:
        entry["unpacked_size"] = unpacked_size(data)  # bounds what load may decompress
    return entry


def _write_model(model: Any, target: Path, fmt: str) -> None:
    if fmt == "joblib":
        import joblib

        joblib.dump(model, target)
        return
    import skops.io

    from ._trust import audit_skops

    data = skops.io.dumps(model, compression=zipfile.ZIP_DEFLATED)
    try:
        audit_skops(data, recorded_unpacked=unpacked_size(data))  # refuse now what load() would refuse later
    except UntrustedModelError as err:
        raise UntrustedModelError(f"cannot save a bundle gmm_hub could load again: {err}") from err
    target.write_bytes(data)


def _write_json(path: Path, content: Mapping[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(content, fh, indent=2, allow_nan=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def _check_replaceable(target: Path) -> None:
    """Refuse to replace anything but a gmm_hub bundle holding only the files it lists (or nothing)."""
    if not target.is_dir() or target.is_symlink():
        raise BundleError(f"{target} exists and is not a directory; refusing to replace it.")
    entries = sorted(p.name for p in target.iterdir())
    if not entries:
        return
    config: Any = None
    try:
        if (target / C.CONFIG_FILE).stat().st_size <= 16 << 20:
            config = json.loads((target / C.CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        pass
    if not isinstance(config, dict) or config.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"{target} exists and is not a gmm_hub bundle (its {C.CONFIG_FILE} is missing or does not say "
            f'"format": "{BUNDLE_FORMAT}"); refusing to delete it even with overwrite=True. Choose another path.'
        )
    files = config.get("files")
    listed = {C.CONFIG_FILE, *(files if isinstance(files, dict) else ())}
    unlisted = [name for name in entries if name not in listed or not (target / name).is_file()]
    if unlisted:
        raise BundleError(
            f"{target} holds {len(unlisted)} file(s) its bundle does not list: {', '.join(unlisted[:10])}; "
            "refusing to delete them even with overwrite=True. Move them away or choose another path."
        )


def save(
    model: Any,
    path: str | os.PathLike[str],
    *,
    metrics: Mapping[str, Any] | None = None,
    dataset: Any = None,
    format: str = "skops",
    overwrite: bool = False,
) -> Path:
    """Write a fitted model as a bundle directory.

    Parameters
    ----------
    model : estimator or Pipeline
        A fitted classifier, usually ``tabular_pipeline()`` or a
        :class:`~gmm_hub.GMMClassifier`.
    path : str or path-like
        The bundle directory to create.
    metrics : dict, default=None
        Held-out metrics, as returned by ``gmm_hub.evaluate``; stored as given.
    dataset : Dataset or dict, default=None
        The training data set (its ``info()`` is stored; its ``X`` supplies
        column dtypes and example input quantiles), or its ``info()`` dict.
    format : {"skops", "joblib"}, default="skops"
        ``"joblib"`` writes a pickle-based ``model.joblib`` instead; loading it
        then needs ``allow_pickle=True``.
    overwrite : bool, default=False
        Replace an existing bundle at ``path``. Only a directory whose
        ``config.json`` says it is a gmm_hub bundle, and which holds nothing
        but the files that config lists, is ever replaced.

    Returns
    -------
    path : Path
        The bundle directory.

    Raises
    ------
    BundleError
        If ``path`` exists and ``overwrite`` is False, or it is not a gmm_hub
        bundle, or it holds files its bundle does not list.
    InvalidInputError
        If the model is not fitted, or ``format``/``dataset`` is invalid.
    UntrustedModelError
        If the model holds types :func:`load` would refuse.

    Examples
    --------
    >>> import gmm_hub  # doctest: +SKIP
    >>> gmm_hub.save(model, "bundles/fraud", metrics=gmm_hub.evaluate(y, model.predict(X)))  # doctest: +SKIP
    """
    if format not in FORMATS:
        raise InvalidInputError(f"format must be 'skops' or 'joblib', got {format!r}")
    if not hasattr(model, "classes_"):
        raise InvalidInputError(
            f"cannot save {type(model).__name__}: it is not a fitted classifier (no classes_). Call fit() first."
        )
    target = Path(path)
    if target.exists() and not overwrite:
        raise BundleError(f"{target} already exists; pass overwrite=True to replace it.")
    if target.exists():
        _check_replaceable(target)
    config = build_config(model, fmt=format, metrics=metrics, dataset=dataset)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{secrets.token_hex(6)}"
    tmp.mkdir()  # unlike mkdtemp, honours the umask: the bundle gets normal permissions
    try:
        file_name = FORMATS[format]
        _write_model(model, tmp / file_name, format)
        config["files"] = {file_name: _file_entry(tmp / file_name, archive=format == "skops")}
        _write_json(tmp / C.CONFIG_FILE, config)
        _move_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("saved %s bundle to %s", format, target)
    return target


def _move_into_place(tmp: Path, target: Path) -> None:
    if not target.exists():
        os.rename(tmp, target)  # fails if a non-empty directory appeared meanwhile
        return
    _check_replaceable(target)  # again, just before: nothing unlisted appeared meanwhile
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rename(target, old / "bundle")
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old / "bundle", target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


# ----------------------------------------------------------------------------- load


def looks_like_path(text: str) -> bool:
    """True if ``text`` must be a local path, never a Hub repo id.

    That is: it starts with ``.``, ``/`` or ``~``, holds a backslash or more
    than one ``/``, or ends in a file extension (``model.skops``,
    ``bundle.v2``).

    Examples
    --------
    >>> looks_like_path("alice/fraud-gmm"), looks_like_path("./fraud"), looks_like_path("a/b/c")
    (False, True, True)
    """
    return (
        text.startswith((".", "/", "~"))
        or "\\" in text
        or text.count("/") > 1
        or bool(PurePath(text).suffix)
        or not _REPO_ID.match(text)
    )


def _resolve_repo_id(
    repo_id: str, *, revision: str | None, token: str | None, allow_pickle: bool
) -> tuple[Path, Checked | None]:
    """Download a Hub repo into the local cache; return its directory and the files checked there (if known)."""
    try:
        from ..hub._transfer import pull_checked
    except ImportError as err:
        raise BundleError(
            f"{repo_id!r} is not a local path, and loading from the Hugging Face Hub is not "
            "available in this gmm_hub version. Download the bundle and pass its directory."
        ) from err
    from huggingface_hub import constants

    logger.warning("no local path %r: loading the Hub repo %r from %s", repo_id, repo_id, constants.ENDPOINT)
    return pull_checked(repo_id, revision=revision, token=token, allow_pickle=allow_pickle)


def load(
    path_or_repo_id: str | os.PathLike[str],
    *,
    revision: str | None = None,
    token: str | None = None,
    allow_pickle: bool = False,
    trust_remote_pickle: str | None = None,
) -> Predictor:
    """Load a bundle (or a single model file) and return a ready :class:`Predictor`.

    Parameters
    ----------
    path_or_repo_id : str or path-like
        A bundle directory; a ``model.skops``/``model.joblib`` file (its
        directory's ``config.json`` is used and checked when present, as in
        a Hub cache snapshot); or a Hub repo id ``"user/repo"`` when no such
        local path exists. An argument that looks like a path (see
        :func:`looks_like_path`: starts with ``.``, ``/`` or ``~``, has more
        than one separator, or ends in a file extension) is never looked up
        on the Hub; a repo id that is looked up is logged as a warning.
    revision, token : str, default=None
        Used only for a repo id.
    allow_pickle : bool, default=False
        Allow loading a LOCAL ``model.joblib`` (pickle): it can run arbitrary
        code. It never applies to anything downloaded from the Hub.
    trust_remote_pickle : str, default=None
        The one Hub repo id whose ``model.joblib`` you trust to run code on
        your machine: ``load("alice/m", trust_remote_pickle="alice/m")``. It
        must equal the repo id being loaded.

    Returns
    -------
    predictor : Predictor

    Raises
    ------
    UntrustedModelError
        If the file holds types outside gmm_hub's allowlist, or is a pickle
        that was not opted in for.
    IntegrityError
        If a file's size or sha256 does not match ``config.json``.
    BundleError
        If the bundle is malformed, newer than this gmm_hub, names paths
        outside itself, breaks a size bound, or does not exist.

    Examples
    --------
    >>> model = gmm_hub.load("alice/fraud-gmm", revision="v1")  # doctest: +SKIP
    """
    path = Path(path_or_repo_id)
    if not path.exists():
        text = str(path_or_repo_id)
        if looks_like_path(text):
            raise BundleError(
                f"no bundle or model file at {text!r}: the path does not exist (it looks like a path, "
                "so it is not looked up on the Hub; pass 'user/repo' to load a Hub repo)."
            )
        if trust_remote_pickle is not None and trust_remote_pickle != text:
            raise InvalidInputError(
                f"trust_remote_pickle={trust_remote_pickle!r} does not name the repo being loaded ({text!r})."
            )
        allow_pickle = trust_remote_pickle == text
        path, checked = _resolve_repo_id(text, revision=revision, token=token, allow_pickle=allow_pickle)
        return _load_bundle(path, None, allow_pickle=allow_pickle, remote=True, checked=checked)
    if trust_remote_pickle is not None:
        raise InvalidInputError(
            f"trust_remote_pickle is for Hub repos, but {str(path_or_repo_id)!r} is a local path; use allow_pickle."
        )
    if path.is_dir():
        return _load_bundle(path, None, allow_pickle=allow_pickle, remote=False)
    if (path.parent / C.CONFIG_FILE).is_file():
        return _load_bundle(path.parent, path.name, allow_pickle=allow_pickle, remote=False)
    return _load_lone_file(path, allow_pickle=allow_pickle)


def _load_bundle(
    bundle: Path, requested: str | None, *, allow_pickle: bool, remote: bool, checked: Checked | None = None
) -> Predictor:
    """Load a bundle directory; ``checked``: its config and files as :func:`pull_checked` just checked them."""
    from ._checks import check_versions, read_config_raw, safe_member

    config, raw = (checked.config, checked.config_bytes) if checked is not None else read_config_raw(bundle)
    check_versions(config)
    model_file = config["model"]["file"]
    if requested is not None and requested != model_file:
        raise BundleError(
            f"{bundle / requested} is not the model of the bundle in {bundle} (its config.json "
            f"names {model_file!r}); load the directory or {model_file!r} instead."
        )
    if remote and config["model"].get("format", "skops") != "skops" and not allow_pickle:
        raise UntrustedModelError(
            f"refusing to load the pickle-based model of a Hub repo: {PICKLE_RISK} For a Hub repo, "
            "allow_pickle does not apply: pass trust_remote_pickle='<the repo id>' (CLI: --trust-remote-pickle)."
        )
    opened = open_bundle(bundle, allow_pickle=allow_pickle, unpickle=True, config=(config, raw), checked=checked)
    logger.info("loaded bundle %s", bundle)
    return Predictor(opened.model, opened.config, safe_member(bundle, model_file))


def _load_lone_file(path: Path, *, allow_pickle: bool) -> Predictor:
    from ._archive import MAX_UNPACKED_BYTES

    size = path.stat().st_size
    if size > MAX_UNPACKED_BYTES:  # before reading: a lone file has no recorded size to compare
        raise BundleError(f"{path} is {size} bytes, over the {MAX_UNPACKED_BYTES}-byte limit; refusing to read it.")
    with open(path, "rb") as fh:
        data = fh.read(MAX_UNPACKED_BYTES + 1)
    logger.info("%s has no config.json beside it: no hash check, schema derived from the model", path)
    if data[:4] == b"PK\x03\x04":
        from ._reader import load_skops

        model = load_skops(data)
        fmt = "skops"
    elif path.suffix == ".skops":
        raise BundleError(f"{path} is not a skops file (not a zip archive); it may be truncated.")
    elif not allow_pickle:
        raise UntrustedModelError(f"refusing to load {path}: {PICKLE_RISK}")
    else:
        import joblib

        logger.warning("loading a pickle-based model file with allow_pickle=True")
        model = joblib.load(io.BytesIO(data))
        fmt = "joblib"
    if not hasattr(model, "predict"):
        raise BundleError(f"{path} does not hold an estimator (got {type(model).__name__}).")
    config = build_config(model, fmt=fmt)
    config["model"]["file"] = path.name
    return Predictor(model, config, path)
