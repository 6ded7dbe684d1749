"""What a bundle must satisfy before anything in it is deserialised.

- :func:`read_config` / :func:`safe_member`: ``config.json`` is well formed,
  its format version is one this gmm_hub understands, and every file it
  names stays inside the bundle;
- :func:`check_files`: every listed file has the recorded size and sha256;
- :func:`check_versions`: a scikit-learn major/minor mismatch is warned about;
- :func:`audit_skops`: the types in ``model.skops`` are on a fixed allowlist.

A ``model.skops`` file is a zip archive whose ``schema.json`` names every
type it will construct. :func:`audit_skops` asks skops which of those types
it does not trust by default (:func:`skops.io.get_untrusted_types`) and
refuses the file unless every one of them is on :func:`trusted_types`, a
list fixed in this module. The names skops reports are never passed back to
skops as trusted: only the fixed list is.

The names are built from the classes themselves
(``f"{cls.__module__}.{cls.__qualname__}"``), so they are the import paths
skops writes into a file. Those paths are part of the bundle format: moving
:class:`~gmm_hub.GMMClassifier` to another module breaks old bundles, which
is what ``tests/test_io.py`` checks by loading a committed fixture.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import io
import json
import logging
import re
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import ModuleType
from typing import Any

from .. import _constants as C
from ..exceptions import BundleError, GMMHubError, IntegrityError, UntrustedModelError

__all__ = [
    "BUNDLE_FORMAT",
    "audit_skops",
    "check_files",
    "check_trusted",
    "check_versions",
    "load_skops",
    "read_config",
    "safe_member",
    "trusted_types",
    "upgrade_legacy_paths",
    "verify_bundle",
]

BUNDLE_FORMAT = "gmm_hub-bundle"
_MAX_CONFIG_BYTES = 16 * 1024 * 1024

logger = logging.getLogger(__name__)

#: (module to import, attribute) of every class a bundle may legitimately
#: hold beyond what skops trusts by default. Optional entries that an
#: installed version lacks are skipped.
_TRUSTED_CLASSES: tuple[tuple[str, str], ...] = (
    # gmm_hub's own estimator
    ("gmm_hub.model._classifier", "GMMClassifier"),
    # scikit-learn pieces used by tabular_pipeline and common hand-built pipelines
    ("sklearn.pipeline", "Pipeline"),
    ("sklearn.compose", "ColumnTransformer"),
    ("sklearn.compose", "make_column_selector"),
    ("sklearn.compose._column_transformer", "_RemainderColsList"),
    ("sklearn.impute", "SimpleImputer"),
    ("sklearn.impute", "MissingIndicator"),
    ("sklearn.preprocessing", "StandardScaler"),
    ("sklearn.preprocessing", "RobustScaler"),
    ("sklearn.preprocessing", "MinMaxScaler"),
    ("sklearn.preprocessing", "MaxAbsScaler"),
    ("sklearn.preprocessing", "OneHotEncoder"),
    ("sklearn.preprocessing", "OrdinalEncoder"),
    ("sklearn.preprocessing", "PowerTransformer"),
    ("sklearn.preprocessing", "QuantileTransformer"),
    ("sklearn.feature_selection", "VarianceThreshold"),
    ("sklearn.decomposition", "PCA"),
    ("sklearn.mixture", "GaussianMixture"),
    # numpy containers, dtypes and scalars
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy", "number"),  # make_column_selector(dtype_include=np.number)
    ("numpy", "integer"),
    ("numpy", "floating"),
    ("numpy", "bool_"),
    ("numpy", "int8"),
    ("numpy", "int16"),
    ("numpy", "int32"),
    ("numpy", "int64"),
    ("numpy", "uint8"),
    ("numpy", "uint16"),
    ("numpy", "uint32"),
    ("numpy", "uint64"),
    ("numpy", "float16"),
    ("numpy", "float32"),
    ("numpy", "float64"),
    ("numpy", "str_"),
    ("numpy", "object_"),
    ("numpy.random", "RandomState"),
    ("numpy.random", "Generator"),
    ("numpy.random", "MT19937"),
    ("numpy.random", "PCG64"),
    # scipy sparse containers (a OneHotEncoder's output, if ever stored)
    ("scipy.sparse", "csr_matrix"),
    ("scipy.sparse", "csr_array"),
)


#: Type paths that bundles written by earlier gmm_hub versions record, mapped
#: to where the class lives now (0.2 moved the modules into subpackages).
#: skops imports the recorded module, so :func:`load_skops` rewrites these
#: paths in the file's schema before anything is audited or built.
LEGACY_TYPES: dict[str, str] = {
    "gmm_hub._classifier.GMMClassifier": "gmm_hub.model._classifier.GMMClassifier",
}


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@functools.cache
def trusted_types() -> tuple[str, ...]:
    """Return the sorted, fixed list of type names gmm_hub trusts.

    Returns
    -------
    names : tuple of str
        Qualified names (``module.QualName``) as skops writes them.

    Examples
    --------
    >>> from gmm_hub.bundle._trust import trusted_types
    >>> "gmm_hub.model._classifier.GMMClassifier" in trusted_types()
    True
    """
    names = set()
    for module_name, attr in _TRUSTED_CLASSES:
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError):
            logger.debug("trusted type %s.%s not available here; skipped", module_name, attr)
            continue
        names.add(_type_name(cls))
    names.update(old for old, new in LEGACY_TYPES.items() if new in names)
    return tuple(sorted(names))


def check_trusted(found: Iterable[str]) -> None:
    """Raise unless every type name in ``found`` is on :func:`trusted_types`.

    Parameters
    ----------
    found : iterable of str
        Type names reported by :func:`skops.io.get_untrusted_types`.

    Raises
    ------
    UntrustedModelError
        Naming every type that is not on the list.
    """
    allowed = set(trusted_types())
    offending = sorted(set(found) - allowed)
    if offending:
        raise UntrustedModelError(
            f"refusing to load: the model file holds {len(offending)} type(s) that gmm_hub "
            f"does not trust: {', '.join(offending)}. Loading them could run arbitrary code. "
            "Only bundles made of gmm_hub, scikit-learn preprocessing and numpy types are "
            "loaded; inspect the file with skops.io.get_untrusted_types and load it yourself "
            "only if you trust its source."
        )


def _skops_io() -> ModuleType:
    import skops.io

    return skops.io


def _rewrite_modules(node: Any, modules: dict[tuple[str, str], str]) -> int:
    """Point every ``(__module__, __class__)`` pair in ``modules`` at its new module, in place; count them."""
    count = 0
    stack = [node]
    while stack:  # iterative: a hostile schema may nest deeply
        item = stack.pop()
        if isinstance(item, dict):
            key = (item.get("__module__"), item.get("__class__"))
            if key in modules:
                item["__module__"] = modules[key]
                count += 1
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def upgrade_legacy_paths(data: bytes) -> bytes:
    """Return ``data`` with the :data:`LEGACY_TYPES` paths in its schema moved to today's modules.

    Parameters
    ----------
    data : bytes
        The content of a ``.skops`` file.

    Returns
    -------
    data : bytes
        ``data`` itself when it names no legacy path, else a rewritten copy.
    """
    legacy: dict[tuple[str, str], str] = {}
    for old, new in LEGACY_TYPES.items():
        module, cls = old.rsplit(".", 1)
        legacy[module, cls] = new.rsplit(".", 1)[0]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as src:
            schema = json.loads(src.read("schema.json"))
            if not _rewrite_modules(schema, legacy):
                return data
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
                for info in src.infolist():
                    body = json.dumps(schema).encode() if info.filename == "schema.json" else src.read(info)
                    dst.writestr(info.filename, body)
    except (zipfile.BadZipFile, KeyError, ValueError, RecursionError):
        return data  # not a readable skops file: audit_skops says so
    return out.getvalue()


def audit_skops(data: bytes) -> None:
    """Check a serialised skops model before anything in it is constructed.

    Parameters
    ----------
    data : bytes
        The content of a ``.skops`` file.

    Raises
    ------
    UntrustedModelError
        If the file names a type that is not on :func:`trusted_types`.
    BundleError
        If ``data`` is not a readable skops file.
    """
    sio = _skops_io()
    try:
        found = sio.get_untrusted_types(data=data)
    except Exception as err:  # zip, json or schema errors from a damaged file
        raise BundleError(
            f"the model file is not a readable skops file ({type(err).__name__}: {err}); "
            "expected a zip archive written by skops.io.dump. Re-save the model."
        ) from err
    check_trusted(found)


def load_skops(data: bytes) -> object:
    """Audit ``data`` with :func:`audit_skops`, then construct it.

    Parameters
    ----------
    data : bytes
        The content of a ``.skops`` file.

    Returns
    -------
    obj : object
        The deserialised estimator.

    Raises
    ------
    UntrustedModelError, BundleError
        As :func:`audit_skops`.
    """
    data = upgrade_legacy_paths(data)
    audit_skops(data)
    sio = _skops_io()
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return sio.loads(data, trusted=list(trusted_types()))
    except UntrustedTypesFoundException as err:  # defence in depth: skops' own audit
        raise UntrustedModelError(f"refusing to load: {err}") from err
    except (UntrustedModelError, BundleError):
        raise
    except Exception as err:
        raise BundleError(
            f"the model file could not be deserialised ({type(err).__name__}: {err}); "
            "it may be damaged or written by an incompatible skops version."
        ) from err


# ----------------------------------------------------------------------------- bundle checks


def safe_member(bundle: Path, name: Any) -> Path:
    """Return ``bundle / name`` after checking ``name`` stays inside the bundle.

    The check is lexical: ``name`` must be a relative POSIX path without
    ``..``, drive or backslash. Symlinks are followed when reading (a Hub
    cache snapshot is made of symlinks into its blob store); what is read
    is then checked against the recorded sha256.

    Raises
    ------
    BundleError
        If ``name`` is absolute, escapes the bundle or is not a string.
    """
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        raise BundleError(f"config.json names an invalid file {name!r}; refusing the bundle.")
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or ".." in posix.parts:
        raise BundleError(
            f"config.json names {name!r}, a path outside the bundle; refusing to read it. "
            "Bundle files must be relative paths inside the bundle directory."
        )
    return bundle / posix


def read_config(bundle: Path) -> dict[str, Any]:
    """Read and validate ``bundle/config.json``.

    Returns
    -------
    config : dict

    Raises
    ------
    BundleError
        If it is missing, unreadable, of another or newer format, or names
        unsafe paths.
    """
    path = bundle / C.CONFIG_FILE
    if not path.is_file():
        raise BundleError(f"{bundle} is not a gmm_hub bundle: it has no {C.CONFIG_FILE}.")
    if path.stat().st_size > _MAX_CONFIG_BYTES:
        raise BundleError(f"{path} is larger than {_MAX_CONFIG_BYTES} bytes; refusing to read it.")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BundleError(f"{path} is not valid JSON ({err}); the bundle is damaged.") from err
    if not isinstance(config, dict) or config.get("format") != BUNDLE_FORMAT:
        raise BundleError(f'{path} is not a gmm_hub bundle config (expected "format": {BUNDLE_FORMAT!r}).')
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise BundleError(f"{path} has no integer format_version; the bundle is damaged.")
    if version > C.PROTOCOL:
        raise BundleError(
            f"the bundle uses format version {version}, newer than this gmm_hub understands "
            f"(up to {C.PROTOCOL}); upgrade gmm-hub (pip install -U gmm-hub) to load it."
        )
    files, model = config.get("files"), config.get("model")
    if not isinstance(files, dict) or not isinstance(model, dict):
        raise BundleError(f'{path} lacks the "files" or "model" section; the bundle is damaged.')
    for name in files:
        safe_member(bundle, name)
        entry = files[name]
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise BundleError(f"{path} has no sha256 for {name!r}; the bundle is damaged.")
    safe_member(bundle, model.get("file"))
    if model["file"] not in files:
        raise BundleError(
            f"{path} names model file {model['file']!r} but records no hash for it; refusing to "
            "load an unverified file."
        )
    return config


def _major_minor(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:2])


def check_versions(config: dict[str, Any]) -> str | None:
    """Warn when the bundle was trained with another scikit-learn major/minor.

    Returns
    -------
    message : str or None
        The warning's text, or None when the versions agree.
    """
    import sklearn

    trained = str(config.get("versions", {}).get("sklearn", ""))
    if not trained or _major_minor(trained) == _major_minor(sklearn.__version__):
        return None
    message = (
        f"the bundle was trained with scikit-learn {trained} but scikit-learn "
        f"{sklearn.__version__} is installed; predictions may differ. Install "
        f"scikit-learn=={trained} or re-train and re-save the model."
    )
    warnings.warn(message, UserWarning, stacklevel=3)
    return message


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _mismatch(name: str, entry: dict[str, Any], size: int) -> IntegrityError:
    expected = entry.get("size")
    if isinstance(expected, int) and size != expected:
        what = "truncated" if size < expected else "larger than recorded"
        detail = f"{what}: {size} bytes, expected {expected}"
    else:
        detail = "its sha256 does not match config.json"
    return IntegrityError(
        f"{name} failed the integrity check ({detail}); the file was modified or damaged. "
        "Download or re-save the bundle."
    )


def check_files(bundle: Path, config: dict[str, Any], *, require_all: bool = False) -> bytes:
    """Check every file listed in ``config["files"]`` and return the model file's bytes.

    The model file is read once, checked, and its bytes returned, so what is
    deserialised is exactly what was hashed. Other listed files are checked
    when present; missing ones are an error only with ``require_all``
    (a Hub cache may hold just the files that were downloaded).

    Raises
    ------
    IntegrityError
        On a size or sha256 mismatch, or a missing model file.
    """
    model_file = config["model"]["file"]
    data = b""
    for name, entry in config["files"].items():
        path = safe_member(bundle, name)
        if name == model_file:
            if not path.is_file():
                raise IntegrityError(f"{path} is missing; config.json lists it as the model file.")
            data = path.read_bytes()
            if len(data) != entry.get("size", len(data)) or (hashlib.sha256(data).hexdigest() != entry["sha256"]):
                raise _mismatch(name, entry, len(data))
        elif path.is_file():
            if _sha256(path) != entry["sha256"]:
                raise _mismatch(name, entry, path.stat().st_size)
        elif require_all:
            raise IntegrityError(f"{path} is missing; config.json lists it.")
        else:
            logger.info("%s listed in config.json is not present; skipped", name)
    return data


def verify_bundle(bundle: Path, *, allow_pickle: bool = False) -> tuple[bool, list[tuple[str, str, str]]]:
    """Check a bundle without constructing anything from it.

    Parameters
    ----------
    bundle : Path
        The bundle directory.
    allow_pickle : bool, default=False
        Accept a pickle-based model whose types cannot be audited.

    Returns
    -------
    sound : bool
    report : list of (check, status, detail)
        ``status`` is ``"ok"``, ``"warn"`` or ``"FAIL"``.
    """
    report: list[tuple[str, str, str]] = []
    try:
        config = read_config(bundle)
    except GMMHubError as err:
        return False, [("config", "FAIL", str(err))]
    report.append(("config", "ok", f"{config['format']} v{config['format_version']}, created {config.get('created')}"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mismatch = check_versions(config)
    trained = config.get("versions", {})
    report.append(
        ("versions", "warn", mismatch)
        if mismatch
        else (
            "versions",
            "ok",
            (f"scikit-learn {trained.get('sklearn')}, skops {trained.get('skops')}, gmm_hub {trained.get('gmm_hub')}"),
        )
    )
    try:
        data = check_files(bundle, config, require_all=True)
    except GMMHubError as err:
        return False, [*report, ("files", "FAIL", str(err))]
    listed = sorted(config["files"])
    unlisted = sorted(
        p.name for p in bundle.iterdir() if p.is_file() and p.name not in listed and p.name != C.CONFIG_FILE
    )
    report.append(
        (
            "files",
            "ok",
            f"{len(listed)} file(s) match their sha256: {', '.join(listed)}"
            + (f" (not listed, not checked: {', '.join(unlisted)})" if unlisted else ""),
        )
    )
    if config["model"].get("format", "skops") != "skops":
        status = "warn" if allow_pickle else "FAIL"
        report.append(("types", status, "pickle-based model: its types cannot be audited without running it"))
        return allow_pickle, report
    try:
        audit_skops(upgrade_legacy_paths(data))
    except GMMHubError as err:
        return False, [*report, ("types", "FAIL", str(err))]
    report.append(("types", "ok", "every type in the model is on gmm_hub's allowlist"))
    return True, report
