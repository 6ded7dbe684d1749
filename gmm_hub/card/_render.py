"""Hugging Face model card (README.md) and its figures, rendered from a bundle.

Everything the card says comes from the bundle's ``config.json`` (the
contract in CONTRACTS.md): the metadata header is a
:class:`huggingface_hub.ModelCardData` whose ``eval_results`` become the
``model-index``; the body is a Jinja2 template (``gmm_hub/card/templates/default.md``,
mirrored in ``model_cards/default.md`` for users to copy). Because no data and
no model object are needed, ``gmm-hub card BUNDLE`` can regenerate the card
at any time. Only the README.md and PNG entries of ``config["files"]`` are
updated, so the model file's hash, and with it the bundle's integrity, stay
untouched.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
import tempfile
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

from .._constants import CARD_FILE, CONFIG_FILE, CONFUSION_MATRIX_PNG, PR_CURVE_PNG
from ..exceptions import BundleError, InvalidInputError
from ._context import template_context
from ._metadata import card_data, is_binary, is_finite

__all__ = ["default_template_path", "render_card", "write_card"]

logger = logging.getLogger(__name__)

DEFAULT_LICENSE = "mit"
_LICENSE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$")
_IMAGE_RE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def default_template_path() -> Path:
    """Return the path of the packaged default card template.

    Returns
    -------
    pathlib.Path
        ``gmm_hub/card/templates/default.md`` inside the installed package.
    """
    return Path(str(resources.files("gmm_hub") / "card" / "templates" / "default.md"))


# ----------------------------------------------------------------------------- reading the bundle


def _read_config(bundle_dir: Path) -> dict[str, Any]:
    path = bundle_dir / CONFIG_FILE
    if not path.is_file():
        raise BundleError(
            f"{bundle_dir} is not a gmm_hub bundle: expected a {CONFIG_FILE} in it. "
            "Create the bundle with gmm_hub.save(model, path) first."
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BundleError(f"Cannot read {path}: {err}. Save the bundle again with gmm_hub.save.") from err
    if not isinstance(config, dict):
        raise BundleError(f"Expected a JSON object in {path} but got {type(config).__name__}.")
    return config


def _file_entry(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"sha256": digest.hexdigest(), "size": path.stat().st_size}


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ----------------------------------------------------------------------------- rendering


def _render(template_text: str, context: dict[str, Any], source: str) -> str:
    try:
        import jinja2
        from jinja2.sandbox import SandboxedEnvironment
    except ImportError as err:  # pragma: no cover - jinja2 is a dependency
        raise ImportError(
            "Rendering a model card needs Jinja2; install it with `pip install jinja2` (it is a dependency of gmm_hub)."
        ) from err
    # Same variables as huggingface_hub.ModelCard.from_template, in a sandbox (a card
    # template is data, not code) and with block trimming so the template stays readable.
    env = SandboxedEnvironment(
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.ChainableUndefined,
        autoescape=False,
    )
    try:
        return env.from_string(template_text).render(**context)
    except jinja2.TemplateError as err:
        lineno = getattr(err, "lineno", None)  # syntax errors carry one, runtime errors do not
        line = f" (line {lineno})" if lineno else ""
        raise InvalidInputError(
            f"Cannot render the model-card template {source}{line}: {str(err).rstrip('.')}. "
            "Fix the template (Jinja2, rendered in a sandbox), or start from model_cards/default.md."
        ) from err


def _read_template(template: str | os.PathLike[str] | None) -> tuple[str, str]:
    path = default_template_path() if template is None else Path(template)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInputError(
            f"Cannot read the model-card template {path}: {err}. Pass the path of a UTF-8 "
            "markdown/Jinja2 file, e.g. a copy of model_cards/default.md."
        ) from err


def _check_license(license: str) -> str:
    if not isinstance(license, str) or not _LICENSE_RE.match(license):
        raise InvalidInputError(
            f"Expected a license identifier such as 'mit', 'apache-2.0' or 'cc-by-4.0' but got {license!r}; "
            "see https://huggingface.co/docs/hub/repositories-licenses for the accepted ids."
        )
    return license


def _check_repo_id(repo_id: str | None) -> str | None:
    if repo_id is None:
        return None
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        raise InvalidInputError(f"Expected a Hub repo id like 'user/name' but got {repo_id!r}: {err}") from err
    return repo_id


def render_card(
    config: dict[str, Any],
    *,
    template: str | os.PathLike[str] | None = None,
    license: str = DEFAULT_LICENSE,
    repo_id: str | None = None,
    images: dict[str, str | None] | None = None,
) -> str:
    """Render the model card text for a bundle configuration.

    Parameters
    ----------
    config : dict
        Parsed ``config.json`` of a bundle.
    template : str or path-like, optional
        Jinja2 markdown template; the packaged default when omitted. Its
        variables are those of :meth:`huggingface_hub.ModelCard.from_template`
        (``card_data`` and the metadata keys) plus the ones listed in
        ``model_cards/README.md``. A template without a YAML header gets the
        gmm_hub metadata header prepended.
    license : str, default="mit"
        License identifier for the metadata.
    repo_id : str, optional
        Hub repository id used in the "How to use" code; ``"user/repo"`` when
        unknown.
    images : dict, optional
        Image file name -> relative path (or None when not drawn), e.g.
        ``{"confusion_matrix.png": "confusion_matrix.png"}``.

    Returns
    -------
    str
        The card: YAML metadata block followed by the markdown body.

    Raises
    ------
    InvalidInputError
        If the template cannot be read or rendered, or its metadata is not
        valid YAML, or ``license`` / ``repo_id`` are malformed.
    """
    from huggingface_hub import ModelCard

    license = _check_license(license)
    repo_id = _check_repo_id(repo_id)
    data = card_data(config, license, repo_id)
    context = {k: v for k, v in data.to_dict().items() if k.isidentifier()}
    context.update(template_context(config, repo_id, images or {}))
    context["card_data"] = data.to_yaml()
    text, source = _read_template(template)
    content = _render(text, context, source)
    if not content.lstrip().startswith("---"):
        content = f"---\n{context['card_data']}\n---\n\n{content}"
    try:
        card = ModelCard(content)
    except Exception as err:  # yaml errors and ValueError from huggingface_hub
        raise InvalidInputError(
            f"The YAML metadata block rendered from {source} is invalid: {err}. "
            "Keep `{{ card_data }}` between the two `---` lines of the template."
        ) from err
    return str(card)


# ----------------------------------------------------------------------------- writing into a bundle


def _planned_images(metrics: dict[str, Any]) -> dict[str, str | None]:
    labels = metrics.get("labels") or []
    matrix = metrics.get("confusion_matrix")
    square = (
        isinstance(matrix, list)
        and len(labels) > 0
        and len(matrix) == len(labels)
        and all(isinstance(row, list) and len(row) == len(labels) for row in matrix)
    )
    curve = metrics.get("precision_recall_curve") or {}
    has_curve = is_binary(metrics) and bool(curve.get("precision")) and bool(curve.get("recall"))
    if matrix is not None and not square:
        warnings.warn(
            f"config.json metrics hold a confusion matrix that does not match labels {labels}; "
            "the card is written without it. Re-run gmm_hub.evaluate and save the bundle again.",
            UserWarning,
            stacklevel=3,
        )
    return {
        CONFUSION_MATRIX_PNG: CONFUSION_MATRIX_PNG if square else None,
        PR_CURVE_PNG: PR_CURVE_PNG if has_curve else None,
    }


def _draw(metrics: dict[str, Any], name: str, path: Path) -> None:
    from ._plots import plot_confusion_matrix, plot_precision_recall

    labels = metrics["labels"]
    if name == CONFUSION_MATRIX_PNG:
        plot_confusion_matrix(metrics["confusion_matrix"], labels, path)
        return
    pos_label = metrics.get("pos_label", labels[1])
    prevalence = None
    try:  # share of the positive class, the chance level of a PR curve
        matrix = metrics["confusion_matrix"]
        row = [str(label) for label in labels].index(str(pos_label))
        prevalence = sum(matrix[row]) / sum(sum(r) for r in matrix)
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        pass
    curve = metrics["precision_recall_curve"]
    ap = metrics.get("average_precision")
    plot_precision_recall(
        curve["precision"],
        curve["recall"],
        path,
        average_precision=ap if is_finite(ap) else None,
        prevalence=prevalence,
        pos_label=pos_label,
    )


def _referenced_images(text: str) -> list[str]:
    """Relative targets of the markdown image links in ``text``."""
    return [t for t in _IMAGE_RE.findall(text) if "://" not in t and not t.startswith(("/", "data:"))]


def _existing_license(readme: Path) -> str | None:
    if not readme.is_file():
        return None
    from huggingface_hub import metadata_load

    try:
        license = (metadata_load(readme) or {}).get("license")
    except Exception:  # an unreadable old card must not block writing a new one
        logger.debug("could not read the license of %s", readme, exc_info=True)
        return None
    return license if isinstance(license, str) and _LICENSE_RE.match(license) else None


def write_card(
    bundle_dir: str | os.PathLike[str],
    *,
    template: str | os.PathLike[str] | None = None,
    license: str | None = None,
    repo_id: str | None = None,
) -> Path:
    """Write (or regenerate) the model card and its figures inside a bundle.

    Draws ``confusion_matrix.png`` and, for binary problems with a stored
    curve, ``precision_recall.png`` from ``config["metrics"]``, renders
    ``README.md`` and records the new sha256/size of these files in
    ``config["files"]``. Nothing else in the bundle changes, so it still
    verifies. Uses only the bundle: no data, no model loading.

    Parameters
    ----------
    bundle_dir : str or path-like
        Bundle directory written by :func:`gmm_hub.save`.
    template : str or path-like, optional
        Jinja2 markdown template; defaults to ``gmm_hub/card/templates/default.md``
        (the same file as ``model_cards/default.md``).
    license : str, optional
        License id for the card metadata. Defaults to the license of the
        bundle's existing README.md, else ``"mit"``.
    repo_id : str, optional
        Hub repository id used in the "How to use" snippets; when omitted the
        card says ``"user/repo"`` and asks the reader to replace it.

    Returns
    -------
    pathlib.Path
        Path of the written README.md.

    Raises
    ------
    BundleError
        If ``bundle_dir`` holds no readable config.json.
    InvalidInputError
        If the template cannot be read or rendered, or ``license`` /
        ``repo_id`` are malformed.

    Examples
    --------
    >>> import gmm_hub  # doctest: +SKIP
    >>> gmm_hub.write_card("bundles/breast_cancer", license="apache-2.0")  # doctest: +SKIP
    PosixPath('bundles/breast_cancer/README.md')
    """
    bundle = Path(bundle_dir)
    config = _read_config(bundle)
    readme = bundle / CARD_FILE
    if license is None:
        license = _existing_license(readme) or DEFAULT_LICENSE
    metrics = config.get("metrics") or {}
    images = _planned_images(metrics)
    text = render_card(config, template=template, license=license, repo_id=repo_id, images=images)
    missing = [t for t in _referenced_images(text) if t not in images.values() and not (bundle / t).is_file()]
    if missing:
        warnings.warn(
            f"The model card references images that are not in the bundle: {missing}. "
            "They will show as broken links on the Hub; add the files or edit the template.",
            UserWarning,
            stacklevel=2,
        )

    # Draw into a staging directory first: a failure leaves the bundle as it was.
    staging = Path(tempfile.mkdtemp(prefix=".card-", dir=bundle))
    try:
        drawn = [name for name, target in images.items() if target]
        for name in drawn:
            _draw(metrics, name, staging / name)
        (staging / CARD_FILE).write_bytes(text.encode("utf-8"))
        for name in [*drawn, CARD_FILE]:
            os.replace(staging / name, bundle / name)
    finally:
        for leftover in staging.iterdir():
            leftover.unlink()
        staging.rmdir()

    files = config.setdefault("files", {})
    for name in [*drawn, CARD_FILE]:
        files[name] = _file_entry(bundle / name)
    for name in (n for n, target in images.items() if not target):
        files.pop(name, None)
        (bundle / name).unlink(missing_ok=True)  # a stale figure would contradict the card
    # same layout as gmm_hub.bundle._io writes it (indent=2, strict JSON)
    _write_atomic(bundle / CONFIG_FILE, (json.dumps(config, indent=2, allow_nan=False) + "\n").encode("utf-8"))
    logger.info("wrote model card %s (figures: %s)", readme, ", ".join(drawn) or "none")
    return readme
