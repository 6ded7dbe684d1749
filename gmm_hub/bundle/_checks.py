"""The checks a bundle directory must pass; :func:`gmm_hub.load`, ``gmm-hub verify`` and ``push`` share them.

:func:`open_bundle` is the one path from a directory to a checked model:

1. :func:`read_config`: ``config.json`` is at most 16 MiB, valid JSON at most
   64 levels deep, of gmm_hub's format and a version this gmm_hub reads, and
   every field the checks rely on has the right type; every file it names
   stays inside the bundle;
2. a pickle-based model is refused here, before any file is read, unless
   ``allow_pickle``;
3. :func:`check_files`: every listed file exists, its size is compared with
   the recorded one *before* it is read, then its sha256; the bytes that were
   checked are the bytes returned (what is built and what is pushed);
4. the skops model is audited and built (:func:`._reader.load_skops`) and its
   classes must be those ``config.json`` records.

:func:`verify_bundle` runs the same steps (building the model from the
audited file, never unpickling) and reports each one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, TypeGuard

from .. import _constants as C
from ..exceptions import BundleError, GMMHubError, IntegrityError, UntrustedModelError

__all__ = [
    "BUNDLE_FORMAT",
    "Checked",
    "check_files",
    "check_versions",
    "open_bundle",
    "read_checked",
    "read_config",
    "read_config_raw",
    "safe_member",
    "verify_bundle",
]

BUNDLE_FORMAT = "gmm_hub-bundle"
MAX_CONFIG_BYTES = 16 * 1024 * 1024
MAX_CONFIG_DEPTH = 64
FORMATS = {"skops": C.SKOPS_FILE, "joblib": C.JOBLIB_FILE}
PICKLE_RISK = (
    "joblib/pickle files can run arbitrary code while they are loaded, so gmm_hub refuses them "
    "by default. Pass allow_pickle=True (CLI: --allow-pickle) only for a local file you made yourself "
    "or fully trust; prefer the skops format."
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

logger = logging.getLogger(__name__)


def safe_member(bundle: Path, name: Any) -> Path:
    """Return ``bundle / name`` after checking ``name`` stays inside the bundle.

    The check is lexical: ``name`` must be a relative POSIX path without
    ``..``, drive, backslash or glob characters. Symlinks are followed when
    reading (a Hub cache snapshot is made of symlinks into its blob store);
    what is read is then checked against the recorded sha256.

    Raises
    ------
    BundleError
        If ``name`` is absolute, escapes the bundle or is not a string.
    """
    if not isinstance(name, str) or not name or len(name) > 255 or any(ch in name for ch in "\\\x00*?[]"):
        raise BundleError(f"config.json names an invalid file {str(name)[:80]!r}; refusing the bundle.")
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or ".." in posix.parts:
        raise BundleError(
            f"config.json names {name!r}, a path outside the bundle; refusing to read it. "
            "Bundle files must be relative paths inside the bundle directory."
        )
    return bundle / posix


def _depth(value: Any) -> int:
    """Levels of nesting of ``value`` (a scalar is 1), counted up to ``MAX_CONFIG_DEPTH + 1``."""
    depth, level = 0, [value]
    while level and depth <= MAX_CONFIG_DEPTH:
        depth += 1
        below: list[Any] = []
        for item in level:  # one level at a time: no per-node tuples (a 100 KB config has 40,000 nodes)
            if isinstance(item, dict):
                below.extend(item.values())
            elif isinstance(item, list):
                below.extend(item)
        level = below
    return depth


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_fields(path: Path, config: dict[str, Any]) -> None:
    def bad(what: str) -> BundleError:
        return BundleError(f"{path}: {what}; the bundle is damaged. Re-save it with gmm_hub.save.")

    version = config.get("format_version")
    if not _is_int(version):
        raise bad(f"format_version must be an integer, got {type(version).__name__}")
    if version > C.PROTOCOL:
        raise BundleError(
            f"the bundle uses format version {version}, newer than this gmm_hub understands "
            f"(up to {C.PROTOCOL}); upgrade gmm-hub (pip install -U gmm-hub) to load it."
        )
    versions = config.get("versions", {})
    if not isinstance(versions, dict) or not all(isinstance(v, str) for v in versions.values()):
        raise bad('"versions" must be an object of version strings')
    files, model = config.get("files"), config.get("model")
    if not isinstance(files, dict) or not isinstance(model, dict):
        raise bad('"files" and "model" must be objects')
    for name, entry in files.items():
        safe_member(path.parent, name)
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or not _SHA256.match(entry["sha256"])
        ):
            raise bad(f"{name!r} has no sha256 (64 hex digits)")
        size = entry.get("size")
        if not _is_int(size) or size < 0:
            raise bad(f"{name!r} has no size (a non-negative integer)")
        if "unpacked_size" in entry and not (_is_int(entry["unpacked_size"]) and entry["unpacked_size"] >= 0):
            raise bad(f"{name!r} has an unpacked_size that is not a non-negative integer")
    safe_member(path.parent, model.get("file"))
    if not isinstance(model.get("format", "skops"), str) or model.get("format", "skops") not in FORMATS:
        raise bad(f"model format must be one of {sorted(FORMATS)}, got {str(model.get('format'))[:40]!r}")
    if model["file"] not in files:
        raise BundleError(
            f"{path} names model file {model['file']!r} but records no hash for it; refusing to "
            "load an unverified file."
        )
    if not isinstance(config.get("classes"), list):
        raise bad('"classes" must be a list')
    schema = config.get("schema")
    columns = schema.get("columns") if isinstance(schema, dict) else None
    if not isinstance(columns, list) or not all(
        isinstance(c, dict) and isinstance(c.get("name"), str) for c in columns
    ):
        raise bad('"schema" must hold a list of named "columns"')
    names = [c["name"] for c in columns]
    if len(set(names)) != len(names):
        raise bad("the schema names a column twice")
    for col in columns:
        if col.get("kind", "numeric") not in ("numeric", "categorical"):
            raise bad(f"column {col['name']!r} has an unknown kind")
        cats = col.get("categories")
        if cats is not None and not (
            isinstance(cats, list) and all(c is None or isinstance(c, (bool, int, float, str)) for c in cats)
        ):
            raise bad(f"column {col['name']!r} has categories that are not a list of scalars")
        if not isinstance(col.get("dtype", ""), str) or not isinstance(col.get("nullable", False), bool):
            raise bad(f"column {col['name']!r} has a dtype that is not a string or a nullable that is not a boolean")


def read_config(bundle: Path) -> dict[str, Any]:
    """Read and validate ``bundle/config.json``.

    Returns
    -------
    config : dict

    Raises
    ------
    BundleError
        One clear error for anything malformed: missing, over 16 MiB, not
        JSON, nested deeper than 64 levels, an integer over Python's digit
        limit, another or newer format, a field of the wrong type, unsafe paths.
    """
    return _read_config(bundle)[0]


def read_config_raw(bundle: Path) -> tuple[dict[str, Any], bytes]:
    """:func:`read_config`, also returning the bytes that were read (what ``push`` uploads)."""
    return _read_config(bundle)


def _read_config(bundle: Path) -> tuple[dict[str, Any], bytes]:
    path = bundle / C.CONFIG_FILE
    if not path.is_file():
        raise BundleError(f"{bundle} is not a gmm_hub bundle: it has no {C.CONFIG_FILE}.")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise BundleError(f"{path} is larger than {MAX_CONFIG_BYTES} bytes; refusing to read it.")
    with open(path, "rb") as fh:
        raw = fh.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        raise BundleError(f"{path} is larger than {MAX_CONFIG_BYTES} bytes; refusing to read it.")
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:  # JSONDecodeError, digit limit, nesting
        detail = "nested too deeply" if isinstance(err, RecursionError) else str(err)[:120]
        raise BundleError(f"{path} is not valid JSON ({detail}); the bundle is damaged.") from err
    if not isinstance(config, dict) or config.get("format") != BUNDLE_FORMAT:
        raise BundleError(f'{path} is not a gmm_hub bundle config (expected "format": {BUNDLE_FORMAT!r}).')
    if _depth(config) > MAX_CONFIG_DEPTH:
        raise BundleError(f"{path} nests deeper than {MAX_CONFIG_DEPTH} levels; the bundle is damaged.")
    _check_fields(path, config)
    return config, raw


def _major_minor(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d{1,9}", version)[:2])


def check_versions(config: dict[str, Any]) -> str | None:
    """Warn when the bundle was trained with another scikit-learn major/minor.

    Returns
    -------
    message : str or None
        The warning's text, or None when the versions agree.
    """
    import sklearn

    trained = str(config.get("versions", {}).get("sklearn", ""))[:40]
    if not trained or _major_minor(trained) == _major_minor(sklearn.__version__):
        return None
    message = (
        f"the bundle was trained with scikit-learn {trained} but scikit-learn "
        f"{sklearn.__version__} is installed; predictions may differ. Install "
        f"scikit-learn=={trained} or re-train and re-save the model."
    )
    warnings.warn(message, UserWarning, stacklevel=3)
    return message


def _mismatch(name: str, detail: str) -> IntegrityError:
    return IntegrityError(
        f"{name} failed the integrity check ({detail}); the file was modified or damaged. "
        "Download or re-save the bundle."
    )


def check_files(bundle: Path, config: dict[str, Any], *, require_all: bool = False) -> dict[str, bytes]:
    """Check every file listed in ``config["files"]``; return the bytes that were checked.

    Each file's size is compared with the recorded one before it is read;
    then at most that many bytes (plus one) are read and hashed once. The
    model file must be present; other listed files (card, figures) may be
    absent unless ``require_all`` (a Hub cache snapshot holds what was
    downloaded, ``hf_hub_download("user/repo", "model.skops")`` just the model).

    Raises
    ------
    IntegrityError
        On a missing model file (any missing file with ``require_all``), or
        a size or sha256 mismatch.
    """
    checked = {}
    for name, entry in config["files"].items():
        path = safe_member(bundle, name)
        if not path.is_file():
            if require_all or name == config["model"]["file"]:
                raise IntegrityError(f"{path} is missing; config.json lists it.")
            logger.info("%s listed in config.json is not present; skipped", name)
            continue
        expected = entry["size"]
        size = path.stat().st_size
        if size != expected:
            what = "truncated" if size < expected else "larger than recorded"
            raise _mismatch(name, f"{what}: {size} bytes, expected {expected}")
        with open(path, "rb") as fh:
            data = fh.read(expected + 1)
        if len(data) != expected:
            raise _mismatch(name, f"changed while read: {len(data)} bytes, expected {expected}")
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise _mismatch(name, "its sha256 does not match config.json")
        checked[name] = data
    return checked


def _check_schema_matches(model: Any, schema: dict[str, Any], bundle: Path) -> None:
    """The stored input schema must describe the columns the model was fitted on."""
    first = model.steps[0][1] if hasattr(model, "steps") and model.steps else model
    fitted = getattr(model, "feature_names_in_", None)
    if fitted is None:
        fitted = getattr(first, "feature_names_in_", None)
    names = [c["name"] for c in schema["columns"]]
    n = getattr(model, "n_features_in_", None) or getattr(first, "n_features_in_", None)
    if fitted is not None and [str(f) for f in fitted] != names:
        problem = f"names columns {names[:10]} but the model was fitted on {[str(f) for f in fitted][:10]}"
    elif n is not None and int(n) != len(names):
        problem = f"names {len(names)} column(s) but the model was fitted on {int(n)}"
    else:
        return
    raise BundleError(f"{bundle / C.CONFIG_FILE}: its input schema {problem}; the bundle is inconsistent. Re-save it.")


@dataclass
class Checked:
    """What :func:`open_bundle` checked: the config, the exact file bytes, and the model built."""

    config: dict[str, Any]
    config_bytes: bytes
    files: dict[str, bytes] = field(repr=False)
    model: Any = None


def read_checked(
    bundle: Path, *, require_all: bool = False, config: tuple[dict[str, Any], bytes] | None = None
) -> Checked:
    """:func:`read_config` (unless ``config`` gives what it returned) and :func:`check_files` in one.

    Returns
    -------
    checked : Checked
        The config and the file bytes that were checked (no model).

    Raises
    ------
    BundleError, IntegrityError
        As :func:`read_config` and :func:`check_files`.
    """
    parsed, raw = config if config is not None else _read_config(bundle)
    return Checked(parsed, raw, check_files(bundle, parsed, require_all=require_all))


def open_bundle(
    bundle: Path,
    *,
    allow_pickle: bool,
    unpickle: bool,
    require_all: bool = False,
    config: tuple[dict[str, Any], bytes] | None = None,
    checked: Checked | None = None,
) -> Checked:
    """Run every check on ``bundle``; build a skops model, and a pickle one only with ``unpickle``.

    ``require_all`` (``push``) also refuses a listed file that is absent.
    ``config`` (the ``(config, raw bytes)`` the caller just read and checked)
    or ``checked`` (what :func:`read_checked` returned: the config and the
    file bytes already checked against it) saves reading and hashing twice;
    the model is still built from exactly the bytes that were hashed.

    Raises
    ------
    BundleError, IntegrityError, UntrustedModelError
        From the first check that fails.
    """
    from ._reader import load_skops
    from ._schema import json_native

    if checked is not None:
        read = (checked.config, checked.config_bytes)
    else:
        read = config if config is not None else _read_config(bundle)
    config_dict, config_bytes = read
    model_file, fmt = config_dict["model"]["file"], config_dict["model"].get("format", "skops")
    if fmt != "skops" and not allow_pickle:  # refuse before reading anything
        raise UntrustedModelError(f"refusing to load {bundle / model_file}: {PICKLE_RISK}")
    if checked is not None and model_file in checked.files:
        files = checked.files
    else:
        files = check_files(bundle, config_dict, require_all=require_all)
    data = files[model_file]
    if fmt == "skops":
        model = load_skops(data, recorded_unpacked=config_dict["files"][model_file].get("unpacked_size"))
    elif unpickle:
        import io

        import joblib

        logger.warning("loading a pickle-based model file with allow_pickle=True")
        model = joblib.load(io.BytesIO(data))
    else:
        return Checked(config_dict, config_bytes, files)
    if not hasattr(model, "predict"):
        raise BundleError(f"{bundle / model_file} does not hold an estimator (got {type(model).__name__}).")
    _check_schema_matches(model, config_dict["schema"], bundle)
    if json_native(getattr(model, "classes_", None)) != config_dict.get("classes"):
        raise BundleError(
            f"the model's classes {str(json_native(getattr(model, 'classes_', None)))[:200]} differ from "
            f"config.json's {str(config_dict.get('classes'))[:200]}; the bundle is inconsistent. Re-save it."
        )
    return Checked(config_dict, config_bytes, files, model)


def verify_bundle(bundle: Path, *, allow_pickle: bool = False) -> tuple[bool, list[tuple[str, str, str]]]:
    """Run :func:`open_bundle`'s checks and report each (a pickle is never unpickled).

    Parameters
    ----------
    bundle : Path
        The bundle directory.
    allow_pickle : bool, default=False
        Accept a pickle-based model whose types cannot be audited.

    Returns
    -------
    sound : bool
        True exactly when :func:`gmm_hub.load` would accept the bundle (for a
        pickle: would accept it with ``allow_pickle``).
    report : list of (check, status, detail)
        ``status`` is ``"ok"``, ``"warn"`` or ``"FAIL"``.
    """
    bundle = Path(bundle)
    try:
        config = read_config(bundle)
    except GMMHubError as err:
        return False, [("config", "FAIL", str(err))]
    report = [("config", "ok", f"{config['format']} v{config['format_version']}, created {config.get('created')}")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mismatch = check_versions(config)
    trained = config.get("versions", {})
    detail = f"scikit-learn {trained.get('sklearn')}, skops {trained.get('skops')}, gmm_hub {trained.get('gmm_hub')}"
    report.append(("versions", "warn", mismatch) if mismatch else ("versions", "ok", detail))
    try:
        checked = open_bundle(bundle, allow_pickle=allow_pickle, unpickle=False)
    except IntegrityError as err:
        return False, [*report, ("files", "FAIL", str(err))]
    except GMMHubError as err:
        return False, [*report, ("types", "FAIL", str(err))]
    listed = sorted(checked.files)
    absent = sorted(set(config["files"]) - set(listed))
    unlisted = sorted(p.name for p in bundle.iterdir() if p.is_file() and p.name not in [*listed, C.CONFIG_FILE])
    note = f" (not listed, not checked: {', '.join(unlisted)})" if unlisted else ""
    report.append(("files", "ok", f"{len(listed)} file(s) match their size and sha256: {', '.join(listed)}{note}"))
    if absent:
        report.append(("files", "warn", f"listed but absent (push refuses them): {', '.join(absent)}"))
    if checked.model is None:
        report.append(("types", "warn", "pickle-based model: its types cannot be audited without running it"))
    else:
        report.append(("types", "ok", "every node of the model is on gmm_hub's allowlist; fitted arrays consistent"))
    return True, report
