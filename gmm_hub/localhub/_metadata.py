"""Card metadata of the local Hub: what the Hub derives from a README, and how it validates it.

Pure functions over text and dicts, no I/O, used by the repo-info, listing and
``validate-yaml`` routes:

- :func:`parse_front_matter` reads a README's YAML block the way
  ``huggingface_hub.repocard`` finds it (same ``REGEX_YAML_BLOCK``, ``yaml.safe_load``).
- :func:`derive_repo_info` builds the fields ``ModelInfo`` / ``DatasetInfo`` read
  (``cardData``, ``tags``, ``library_name``, ``pipeline_tag``, ``model-index``) as
  the Hub builds them: ``tags`` is the library, the pipeline tag, the card's tags,
  the languages, then ``dataset:<id>``, ``arxiv:<id>``, ``base_model:...``,
  ``license:<id>``, ``model-index`` and ``region:us``, without duplicates.
- :func:`validate_metadata` checks license ids, pipeline tags and the
  ``model-index`` structure, returning messages worded as the Hub's
  ``validate-yaml`` words them (``"license" must be one of [...]``,
  ``"model-index[0].results[0].metrics[0].value" is required``).

The two lists below are the Hub's, copied as data: :data:`LICENSES` in the order the
Hub's ``validate-yaml`` answer lists them (the answer quoted in huggingface_hub issue
#4218 and in later captures, 2026), :data:`PIPELINE_TAGS` in the order of
``PIPELINE_DATA`` in huggingface.js ``packages/tasks/src/pipelines.ts``, which is also
the order the Hub uses to pick a default pipeline tag from a card's tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..exceptions import InvalidInputError

LICENSES: tuple[str, ...] = tuple(
    """
    apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0
    bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear
    c-uda cc cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0
    cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0
    cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 wtfpl
    ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 eupl-1.2 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl
    lgpl-2.1 lgpl-3.0 isc h-research intel-research lppl-1.3c ms-pl apple-ascl apple-amlr mpl-2.0
    odc-by odbl openmdw-1.0 openmdw-1.1 openrail++ osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib
    pddl lgpl-lr deepfloyd-if-license fair-noncommercial-research-license llama2 llama3 llama3.1
    llama3.2 llama3.3 llama4 grok2-community gemma unknown other
    """.split()  # noqa: SIM905 - data, one id per word
)

PIPELINE_TAGS: tuple[str, ...] = tuple(
    """
    biology text-classification token-classification table-question-answering question-answering
    zero-shot-classification translation summarization feature-extraction text-generation
    text2text-generation fill-mask sentence-similarity text-to-speech text-to-audio
    automatic-speech-recognition audio-to-audio audio-classification audio-text-to-text
    voice-activity-detection depth-estimation image-classification object-detection
    image-segmentation text-to-image image-to-text image-to-image image-to-video
    unconditional-image-generation video-classification reinforcement-learning robotics
    tabular-classification tabular-regression tabular-to-text table-to-text multiple-choice
    text-ranking text-retrieval time-series-forecasting text-to-video image-text-to-text
    visual-question-answering document-question-answering zero-shot-image-classification graph-ml
    mask-generation zero-shot-object-detection text-to-3d image-to-3d image-feature-extraction
    video-text-to-text keypoint-detection visual-document-retrieval any-to-any other
    """.split()  # noqa: SIM905 - data, one id per word
)

REGION = "region:us"
# What a dataset card's list-valued keys become as tags ("task_categories:tabular-classification").
_DATASET_TAG_KEYS = (
    "task_categories",
    "task_ids",
    "language",
    "multilinguality",
    "size_categories",
    "source_datasets",
    "annotations_creators",
    "language_creators",
)
_ARXIV_RE = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", re.IGNORECASE)


class MetadataError(InvalidInputError):
    """A README whose metadata block cannot be read (bad YAML, or not a mapping)."""


def parse_front_matter(content: str) -> dict[str, Any] | None:
    """Return the YAML metadata of a README, or ``None`` when it has none.

    Parameters
    ----------
    content : str
        The README text.

    Returns
    -------
    dict or None
        The parsed block (``{}`` for an empty one), ``None`` without a block.

    Raises
    ------
    MetadataError
        If the block is not valid YAML or not a mapping.
    """
    import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs (a dependency of huggingface_hub)
    from huggingface_hub.repocard import REGEX_YAML_BLOCK

    match = REGEX_YAML_BLOCK.search(content)
    if match is None:
        return None
    block = match.group(2)
    try:
        # libyaml's scanner (the same safe constructor) is about 10x faster than PyYAML's
        # pure-Python one on a card; a block it refuses is read again by the pure loader,
        # whose verdict and message are the client's (huggingface_hub uses yaml.safe_load)
        data = yaml.load(block, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        try:
            data = yaml.safe_load(block)
        except yaml.YAMLError as err:
            raise MetadataError(f"Error parsing the YAML metadata of README.md: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MetadataError(
            f"The YAML metadata of README.md must be a mapping (key: value), got {type(data).__name__}."
        )
    return data


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    return [str(item) for item in items if item is not None and str(item) != ""]


def _add(tags: list[str], items: Iterable[str]) -> None:
    for item in items:
        if item not in tags:
            tags.append(item)


def derive_repo_info(metadata: Mapping[str, Any] | None, repo_type: str = "model", body: str = "") -> dict[str, Any]:
    """Derive the repo-info fields the Hub computes from a card's metadata.

    Parameters
    ----------
    metadata : mapping or None
        The card's YAML block (:func:`parse_front_matter`); ``None`` without a card.
    repo_type : {"model", "dataset"}, default="model"
        Models get plain language tags and ``library_name``/``pipeline_tag``;
        datasets get ``key:value`` tags (``language:en``, ``task_categories:...``).
    body : str, default=""
        The README text, searched for arXiv links (``arxiv:<id>`` tags).

    Returns
    -------
    dict
        ``cardData`` (the metadata, or ``None``), ``tags``, and for models
        ``library_name``, ``pipeline_tag`` and ``model-index``. A model's
        ``pipeline_tag`` is the card's, else the first card tag that is a
        pipeline tag, in :data:`PIPELINE_TAGS` order.
    """
    meta = dict(metadata or {})
    card_tags = _as_list(meta.get("tags"))
    tags: list[str] = []
    info: dict[str, Any] = {"cardData": meta if metadata is not None else None}
    if repo_type == "model":
        library = meta.get("library_name")
        library = str(library) if isinstance(library, str) and library else None
        pipeline = meta.get("pipeline_tag")
        if not isinstance(pipeline, str) or not pipeline:
            pipeline = next((task for task in PIPELINE_TAGS if task in card_tags), None)
        _add(tags, [library] if library else [])
        _add(tags, [pipeline] if pipeline else [])
        _add(tags, card_tags)
        _add(tags, _as_list(meta.get("language")))
        _add(tags, [f"dataset:{d}" for d in _as_list(meta.get("datasets"))])
        _add(tags, [f"arxiv:{a}" for a in _ARXIV_RE.findall(body)])
        relation = meta.get("base_model_relation") if isinstance(meta.get("base_model_relation"), str) else "finetune"
        for base in _as_list(meta.get("base_model")):
            _add(tags, [f"base_model:{base}", f"base_model:{relation}:{base}"])
        _add(tags, [f"license:{lic}" for lic in _as_list(meta.get("license"))])
        if meta.get("model-index"):
            _add(tags, ["model-index"])
        info.update(library_name=library, pipeline_tag=pipeline, **{"model-index": meta.get("model-index")})
    else:
        _add(tags, card_tags)
        for key in _DATASET_TAG_KEYS:
            _add(tags, [f"{key}:{value}" for value in _as_list(meta.get(key))])
        _add(tags, [f"arxiv:{a}" for a in _ARXIV_RE.findall(body)])
        _add(tags, [f"license:{lic}" for lic in _as_list(meta.get("license"))])
    _add(tags, [REGION])
    info["tags"] = tags
    return info


# ----------------------------------------------------------------------------- validation
# Messages follow the Hub's validate-yaml answers (Joi wording: a quoted path, then the rule).


def _must_be_one_of(path: str, allowed: Iterable[str], *, array: bool = False) -> str:
    listed = ", ".join([*allowed, *(["array"] if array else [])])
    return f'"{path}" must be one of [{listed}]'


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_string_or_list(meta: Mapping[str, Any], key: str, errors: list[str]) -> None:
    value = meta.get(key)
    if value is None or isinstance(value, str):
        return
    if not isinstance(value, list):
        errors.append(f'"{key}" must be one of [string, array]')
        return
    for i, item in enumerate(value):
        if not isinstance(item, str):
            errors.append(f'"{key}[{i}]" must be a string')


def _check_model_index(value: Any, errors: list[str]) -> None:
    if not isinstance(value, list):
        errors.append('"model-index" must be an array')
        return
    for i, entry in enumerate(value):
        where = f"model-index[{i}]"
        if not isinstance(entry, dict):
            errors.append(f'"{where}" must be of type object')
            continue
        if "name" not in entry:
            errors.append(f'"{where}.name" is required')
        elif not isinstance(entry["name"], str):
            errors.append(f'"{where}.name" must be a string')
        results = entry.get("results")
        if results is None:
            errors.append(f'"{where}.results" is required')
            continue
        if not isinstance(results, list):
            errors.append(f'"{where}.results" must be an array')
            continue
        for j, result in enumerate(results):
            _check_result(result, f"{where}.results[{j}]", errors)


def _check_object(obj: Any, where: str, required: Iterable[str], errors: list[str]) -> bool:
    if obj is None:
        errors.append(f'"{where}" is required')
        return False
    if not isinstance(obj, dict):
        errors.append(f'"{where}" must be of type object')
        return False
    for key in required:
        if key not in obj or obj[key] is None:
            errors.append(f'"{where}.{key}" is required')
        elif not isinstance(obj[key], str):
            errors.append(f'"{where}.{key}" must be a string')
    return True


def _check_result(result: Any, where: str, errors: list[str]) -> None:
    if not isinstance(result, dict):
        errors.append(f'"{where}" must be of type object')
        return
    _check_object(result.get("task"), f"{where}.task", ("type",), errors)
    _check_object(result.get("dataset"), f"{where}.dataset", ("type", "name"), errors)
    metrics = result.get("metrics")
    if metrics is None:
        errors.append(f'"{where}.metrics" is required')
        return
    if not isinstance(metrics, list):
        errors.append(f'"{where}.metrics" must be an array')
        return
    for k, metric in enumerate(metrics):
        mwhere = f"{where}.metrics[{k}]"
        if not isinstance(metric, dict):
            errors.append(f'"{mwhere}" must be of type object')
            continue
        if metric.get("type") is None:
            errors.append(f'"{mwhere}.type" is required')
        elif not isinstance(metric["type"], str):
            errors.append(f'"{mwhere}.type" must be a string')
        if "value" not in metric or metric["value"] is None:
            errors.append(f'"{mwhere}.value" is required')


def validate_metadata(metadata: Mapping[str, Any], repo_type: str = "model") -> list[str]:
    """Check card metadata as the Hub's ``validate-yaml`` does; return the error messages.

    Parameters
    ----------
    metadata : mapping
        The card's YAML block.
    repo_type : {"model", "dataset", "space"}, default="model"
        ``pipeline_tag`` and ``model-index`` are checked on model cards only.

    Returns
    -------
    list of str
        Empty when the metadata is valid; otherwise one message per problem,
        e.g. ``"license" must be one of [apache-2.0, mit, ..., other, array]``.
    """
    errors: list[str] = []
    license = metadata.get("license")
    if license is not None:
        values = license if isinstance(license, list) else [license]
        if not all(isinstance(v, str) and v in LICENSES for v in values):
            errors.append(_must_be_one_of("license", LICENSES, array=True))
    for key in ("tags", "datasets", "language", "base_model", "metrics"):
        _check_string_or_list(metadata, key, errors)
    library = metadata.get("library_name")
    if library is not None and not isinstance(library, str):
        errors.append('"library_name" must be a string')
    if repo_type == "model":
        pipeline = metadata.get("pipeline_tag")
        if pipeline is not None and pipeline not in PIPELINE_TAGS:
            errors.append(_must_be_one_of("pipeline_tag", PIPELINE_TAGS))
        if "model-index" in metadata:
            _check_model_index(metadata["model-index"], errors)
    return errors


def validate_card(content: str, repo_type: str = "model") -> list[str]:
    """Validate a README's metadata block; return the Hub-worded error messages.

    A README without a metadata block is valid (the Hub only warns).

    Parameters
    ----------
    content : str
        The README text.
    repo_type : str, default="model"
        See :func:`validate_metadata`.

    Returns
    -------
    list of str
        Error messages, empty when the card is valid.
    """
    try:
        metadata = parse_front_matter(content)
    except MetadataError as err:
        return [str(err)]
    return [] if metadata is None else validate_metadata(metadata, repo_type)


EMPTY_METADATA_WARNING = "empty or missing yaml metadata in repo card"


def card_fields(readme: str | None, repo_type: str = "model") -> dict[str, Any]:
    """The repo-info fields of a repo whose README is ``readme`` (None without one).

    A README whose metadata cannot be parsed gives ``cardData=None`` (the Hub shows
    such a card without metadata); see :func:`derive_repo_info` for the fields.
    """
    metadata = None
    if readme is not None:
        try:
            metadata = parse_front_matter(readme)
        except MetadataError:
            metadata = None
    return derive_repo_info(metadata, repo_type, body=readme or "")


def validation_report(content: str, repo_type: str = "model") -> tuple[list[str], list[str]]:
    """``(errors, warnings)`` of the ``validate-yaml`` route for a README.

    A README without metadata (or with an empty block) is valid with the Hub's warning
    :data:`EMPTY_METADATA_WARNING`.
    """
    try:
        metadata = parse_front_matter(content)
    except MetadataError as err:
        return [str(err)], []
    if not metadata:
        return [], [EMPTY_METADATA_WARNING]
    return validate_metadata(metadata, repo_type), []


__all__ = [
    "EMPTY_METADATA_WARNING",
    "LICENSES",
    "PIPELINE_TAGS",
    "MetadataError",
    "card_fields",
    "derive_repo_info",
    "parse_front_matter",
    "validate_card",
    "validate_metadata",
    "validation_report",
]
