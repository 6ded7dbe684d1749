"""Save and load model bundles: a directory with ``model.skops`` and ``config.json``.

:func:`save` writes the bundle into a temporary directory beside the target
and renames it into place. :func:`load` checks ``config.json`` (format
version, safe file names, every file's size and sha256), then audits the
skops file against gmm_hub's fixed allowlist (:mod:`gmm_hub.bundle._trust`) before
anything in it is constructed. Pickle-based ``model.joblib`` files are read
only with ``allow_pickle=True``.
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
from pathlib import Path
from typing import Any

from .. import _constants as C
from ..exceptions import BundleError, InvalidInputError, UntrustedModelError
from ._config import FORMATS, build_config
from ._predictor import Predictor
from ._schema import json_native
from ._trust import _sha256, check_files, check_versions, read_config, safe_member

__all__ = ["load", "save"]

logger = logging.getLogger(__name__)

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_PICKLE_RISK = (
    "joblib/pickle files can run arbitrary code while they are loaded, so gmm_hub refuses them "
    "by default. Pass allow_pickle=True (CLI: --allow-pickle) only for a file you made yourself "
    "or fully trust; prefer the skops format."
)


# ----------------------------------------------------------------------------- save


def _file_entry(path: Path) -> dict[str, Any]:
    return {"sha256": _sha256(path), "size": path.stat().st_size}


def _write_model(model: Any, target: Path, fmt: str) -> None:
    if fmt == "joblib":
        import joblib

        joblib.dump(model, target)
        return
    import skops.io

    from ._trust import audit_skops

    data = skops.io.dumps(model, compression=zipfile.ZIP_DEFLATED)
    try:
        audit_skops(data)  # refuse now what load() would refuse later
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
    """Refuse to delete anything that is not a gmm_hub bundle (or empty)."""
    if not target.is_dir():
        raise BundleError(f"{target} exists and is not a directory; refusing to replace it.")
    entries = list(target.iterdir())
    if entries and not (target / C.CONFIG_FILE).is_file():
        raise BundleError(
            f"{target} exists and is not a gmm_hub bundle (no {C.CONFIG_FILE}); refusing to "
            "delete it even with overwrite=True. Choose another path."
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
        Replace an existing bundle at ``path``.

    Returns
    -------
    path : Path
        The bundle directory.

    Raises
    ------
    BundleError
        If ``path`` exists and ``overwrite`` is False, or it is not a bundle.
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
        config["files"] = {file_name: _file_entry(tmp / file_name)}
        _write_json(tmp / C.CONFIG_FILE, config)
        _move_into_place(tmp, target, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("saved %s bundle to %s", format, target)
    return target


def _move_into_place(tmp: Path, target: Path, *, overwrite: bool) -> None:
    if not target.exists():
        os.rename(tmp, target)  # fails if a non-empty directory appeared meanwhile
        return
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


def _resolve_repo_id(repo_id: str, *, revision: str | None, token: str | None, allow_pickle: bool) -> Path:
    """Download a Hub repo into the local cache and return its directory."""
    try:
        from ..hub._transfer import pull
    except ImportError as err:
        raise BundleError(
            f"{repo_id!r} is not a local path, and loading from the Hugging Face Hub is not "
            "available in this gmm_hub version. Download the bundle and pass its directory."
        ) from err
    return Path(pull(repo_id, revision=revision, token=token, allow_pickle=allow_pickle))


def _deserialise(data: bytes, fmt: str, *, allow_pickle: bool) -> Any:
    if fmt == "skops":
        from ._trust import load_skops

        return load_skops(data)
    if not allow_pickle:
        raise UntrustedModelError(f"refusing to load a {fmt} file: {_PICKLE_RISK}")
    import joblib

    logger.warning("loading a pickle-based model file with allow_pickle=True")
    return joblib.load(io.BytesIO(data))


def _sniff_format(path: Path, data: bytes) -> str:
    if data[:4] == b"PK\x03\x04":
        return "skops"
    if path.suffix == ".skops":
        raise BundleError(f"{path} is not a skops file (not a zip archive); it may be truncated.")
    return "joblib"


def load(
    path_or_repo_id: str | os.PathLike[str],
    *,
    revision: str | None = None,
    token: str | None = None,
    allow_pickle: bool = False,
) -> Predictor:
    """Load a bundle (or a single model file) and return a ready :class:`Predictor`.

    Parameters
    ----------
    path_or_repo_id : str or path-like
        A bundle directory; a ``model.skops``/``model.joblib`` file (its
        directory's ``config.json`` is used and checked when present, as in
        a Hub cache snapshot); or a Hub repo id ``"user/repo"`` when no such
        local path exists.
    revision, token : str, default=None
        Used only for a repo id.
    allow_pickle : bool, default=False
        Allow loading ``model.joblib`` (pickle): it can run arbitrary code.

    Returns
    -------
    predictor : Predictor

    Raises
    ------
    UntrustedModelError
        If the file holds types outside gmm_hub's allowlist, or is a pickle
        and ``allow_pickle`` is False.
    IntegrityError
        If a file's size or sha256 does not match ``config.json``.
    BundleError
        If the bundle is malformed, newer than this gmm_hub, names paths
        outside itself, or does not exist.

    Examples
    --------
    >>> from huggingface_hub import hf_hub_download  # doctest: +SKIP
    >>> model = gmm_hub.load(hf_hub_download("user/fraud-gmm", "model.skops"))  # doctest: +SKIP
    """
    path = Path(path_or_repo_id)
    if not path.exists():
        text = str(path_or_repo_id)
        if _REPO_ID.match(text) and not text.startswith("."):
            path = _resolve_repo_id(text, revision=revision, token=token, allow_pickle=allow_pickle)
        else:
            raise BundleError(f"no bundle or model file at {text!r}: the path does not exist.")
    if path.is_dir():
        return _load_bundle(path, None, allow_pickle=allow_pickle)
    if (path.parent / C.CONFIG_FILE).is_file():
        return _load_bundle(path.parent, path.name, allow_pickle=allow_pickle)
    return _load_lone_file(path, allow_pickle=allow_pickle)


def _load_bundle(bundle: Path, requested: str | None, *, allow_pickle: bool) -> Predictor:
    config = read_config(bundle)
    check_versions(config)
    model_file = config["model"]["file"]
    if requested is not None and requested != model_file:
        raise BundleError(
            f"{bundle / requested} is not the model of the bundle in {bundle} (its config.json "
            f"names {model_file!r}); load the directory or {model_file!r} instead."
        )
    fmt = config["model"].get("format", "skops")
    if fmt not in FORMATS:
        raise BundleError(f"unknown model format {fmt!r} in {bundle / C.CONFIG_FILE}")
    if fmt != "skops" and not allow_pickle:  # refuse before reading anything
        raise UntrustedModelError(f"refusing to load {bundle / model_file}: {_PICKLE_RISK}")
    data = check_files(bundle, config)
    model = _deserialise(data, fmt, allow_pickle=allow_pickle)
    if json_native(getattr(model, "classes_", None)) != config.get("classes"):
        raise BundleError(
            f"the model's classes {json_native(getattr(model, 'classes_', None))} differ from "
            f"config.json's {config.get('classes')}; the bundle is inconsistent. Re-save it."
        )
    logger.info("loaded bundle %s", bundle)
    return Predictor(model, config, safe_member(bundle, model_file))


def _load_lone_file(path: Path, *, allow_pickle: bool) -> Predictor:
    with open(path, "rb") as fh:
        data = fh.read()
    fmt = _sniff_format(path, data)
    logger.info("%s has no config.json beside it: no hash check, schema derived from the model", path)
    model = _deserialise(data, fmt, allow_pickle=allow_pickle)
    if not hasattr(model, "predict"):
        raise BundleError(f"{path} does not hold an estimator (got {type(model).__name__}).")
    config = build_config(model, fmt=fmt)
    config["model"]["file"] = path.name
    return Predictor(model, config, path)
