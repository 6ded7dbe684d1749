"""Card metadata on the local Hub: what model_info derives from a README, and validate-yaml.

The helpers of gmm_hub.localhub._metadata are tested directly, then every behaviour
through the unmodified huggingface_hub client against the local Hub.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import HfApi, ModelCard, ModelCardData
from hypothesis import given, settings
from hypothesis import strategies as st

from gmm_hub.localhub._metadata import (
    LICENSES,
    PIPELINE_TAGS,
    MetadataError,
    derive_repo_info,
    parse_front_matter,
    validate_card,
    validate_metadata,
)

CARD = """---
license: mit
library_name: gmm_hub
pipeline_tag: tabular-classification
language: en
tags:
- gmm_hub
- sklearn
datasets:
- scikit-learn/adult-census-income
model-index:
- name: adult-gmm
  results:
  - task:
      type: tabular-classification
    dataset:
      type: scikit-learn/adult-census-income
      name: Adult
    metrics:
    - type: f1
      value: 0.71
---

# adult-gmm

See https://arxiv.org/abs/2106.01234 for the method.
"""


# ----------------------------------------------------------------------------- helpers
def test_parse_front_matter_reads_the_block_and_none_without_one():
    meta = parse_front_matter(CARD)
    assert meta is not None and meta["license"] == "mit" and meta["model-index"][0]["name"] == "adult-gmm"
    assert parse_front_matter("# just a title\n") is None
    assert parse_front_matter("---\n\n---\n# empty\n") == {}


@pytest.mark.parametrize("text", ["---\nlicense: [mit\n---\n", "---\n- a\n- b\n---\n"])
def test_parse_front_matter_refuses_bad_yaml_and_non_mappings(text):
    with pytest.raises(MetadataError, match="YAML metadata"):
        parse_front_matter(text)


def test_derive_repo_info_builds_tags_as_the_hub_does():
    meta = parse_front_matter(CARD)
    info = derive_repo_info(meta, "model", body=CARD)
    assert info["tags"] == [
        "gmm_hub",
        "tabular-classification",
        "sklearn",
        "en",
        "dataset:scikit-learn/adult-census-income",
        "arxiv:2106.01234",
        "license:mit",
        "model-index",
        "region:us",
    ]
    assert info["library_name"] == "gmm_hub" and info["pipeline_tag"] == "tabular-classification"
    assert info["cardData"] == meta and info["model-index"] == meta["model-index"]


def test_derive_repo_info_takes_the_pipeline_from_the_tags_in_hub_order():
    info = derive_repo_info({"tags": ["tabular-regression", "text-classification"]})
    assert info["pipeline_tag"] == "text-classification"  # earlier in PIPELINE_DATA
    assert derive_repo_info(None)["tags"] == ["region:us"] and derive_repo_info(None)["cardData"] is None


def test_derive_repo_info_dataset_tags_are_key_value():
    info = derive_repo_info(
        {"license": ["mit"], "task_categories": ["tabular-classification"], "language": ["en"]}, "dataset"
    )
    assert info["tags"] == ["task_categories:tabular-classification", "language:en", "license:mit", "region:us"]
    assert "library_name" not in info


@settings(max_examples=60, deadline=None)
@given(
    tags=st.lists(st.sampled_from(["a", "b", "sklearn", "tabular-classification", "region:us"]), max_size=6),
    license=st.sampled_from(LICENSES),
    library=st.one_of(st.none(), st.sampled_from(["sklearn", "gmm_hub"])),
)
def test_derive_repo_info_tags_are_unique_and_carry_every_source(tags, license, library):
    info = derive_repo_info({"tags": tags, "license": license, "library_name": library})
    assert len(info["tags"]) == len(set(info["tags"]))
    assert set(tags) <= set(info["tags"]) and f"license:{license}" in info["tags"]
    assert info["tags"][-1] == "region:us" or "region:us" in tags
    if library:
        assert info["tags"][0] == library


def test_validate_metadata_uses_the_hubs_wording():
    errors = validate_metadata({"license": "not-a-real-license", "pipeline_tag": "not-a-task"})
    assert errors[0].startswith('"license" must be one of [apache-2.0, mit, ') and errors[0].endswith(", other, array]")
    assert errors[1].startswith('"pipeline_tag" must be one of [biology, text-classification, ')
    assert validate_metadata({"license": "mit", "pipeline_tag": "tabular-classification"}) == []
    assert validate_metadata({"license": ["mit", "apache-2.0"]}) == []


@pytest.mark.parametrize(
    ("model_index", "message"),
    [
        ({"name": "x"}, '"model-index" must be an array'),
        ([{"results": []}], '"model-index[0].name" is required'),
        ([{"name": "x"}], '"model-index[0].results" is required'),
        ([{"name": "x", "results": [{"dataset": {"type": "d", "name": "D"}, "metrics": []}]}],
         '"model-index[0].results[0].task" is required'),
        ([{"name": "x", "results": [{"task": {"type": "t"}, "dataset": {"type": "d"}, "metrics": []}]}],
         '"model-index[0].results[0].dataset.name" is required'),
        ([{"name": "x", "results": [{"task": {"type": "t"}, "dataset": {"type": "d", "name": "D"},
                                     "metrics": [{"type": "f1"}]}]}],
         '"model-index[0].results[0].metrics[0].value" is required'),
    ],
)  # fmt: skip
def test_validate_metadata_checks_the_model_index_structure(model_index, message):
    assert message in validate_metadata({"model-index": model_index})


def test_validate_card_accepts_a_card_without_metadata_and_reports_bad_yaml():
    assert validate_card("# no metadata\n") == []
    assert validate_card(CARD) == []
    assert "YAML" in validate_card("---\nlicense: [mit\n---\n")[0]
    assert "tabular-classification" in PIPELINE_TAGS and "mit" in LICENSES


# ----------------------------------------------------------------------------- through the client
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CARD_TAGS = [
    "gmm_hub",
    "tabular-classification",
    "sklearn",
    "en",
    "dataset:scikit-learn/adult-census-income",
    "arxiv:2106.01234",
    "license:mit",
    "model-index",
    "region:us",
]


def _api(local_hub, user="alice"):
    return HfApi(endpoint=local_hub.url, token=local_hub.tokens[user])


def _readme(api, repo_id, text, repo_type=None):
    return api.upload_file(
        path_or_fileobj=text.encode(), path_in_repo="README.md", repo_id=repo_id, repo_type=repo_type
    )


def test_model_info_derives_card_data_tags_library_and_pipeline(local_hub):
    api = _api(local_hub)
    api.create_repo("alice/adult-gmm")
    before = api.model_info("alice/adult-gmm")
    assert before.card_data is None and before.tags == ["region:us"] and before.library_name is None
    _readme(api, "alice/adult-gmm", CARD)
    info = HfApi(endpoint=local_hub.url).model_info("alice/adult-gmm")  # anonymous: a visitor's view
    assert info.tags == CARD_TAGS
    assert (info.library_name, info.pipeline_tag) == ("gmm_hub", "tabular-classification")
    assert isinstance(info.card_data, ModelCardData) and info.card_data.license == "mit"
    assert info.card_data.eval_results[0].metric_value == 0.71 and info.model_index[0]["name"] == "adult-gmm"
    # the card of an earlier revision is that revision's
    assert api.model_info("alice/adult-gmm", revision=before.sha).card_data is None


def test_a_pushed_gmm_hub_bundle_shows_its_card_metadata(local_hub, tmp_path):
    from gmm_hub.card import write_card
    from gmm_hub.hub._transfer import push

    bundle = Path(shutil.copytree(FIXTURES / "gmm_bundle", tmp_path / "bundle"))
    write_card(bundle)
    push(bundle, "alice/fixture-gmm", token=local_hub.tokens["alice"])
    info = HfApi(endpoint=local_hub.url).model_info("alice/fixture-gmm")
    card = ModelCard.load("alice/fixture-gmm")
    assert info.library_name == card.data.library_name == "gmm_hub"
    assert info.pipeline_tag == card.data.pipeline_tag == "tabular-classification"
    assert {"gmm_hub", "tabular-classification", f"license:{card.data.license}", "region:us"} <= set(info.tags)
    assert ("model-index" in info.tags) == bool(card.data.eval_results)
    assert info.tags[-1] == "region:us" and info.card_data.to_dict() == card.data.to_dict()


def test_model_card_validate_uses_the_hubs_rules_and_wording(local_hub):
    ModelCard(CARD).validate()  # a valid card passes
    bad = ModelCard("---\nlicense: not-a-real-license\npipeline_tag: not-a-task\n---\n# x\n")
    with pytest.raises(ValueError, match=r'^- Error: "license" must be one of \[apache-2\.0, mit, .*, other, array\]'):
        bad.validate()
    with pytest.raises(ValueError, match=r'- Error: "pipeline_tag" must be one of \[biology, text-classification'):
        bad.validate()


def test_pushing_invalid_metadata_fails_before_the_commit(local_hub):
    api = _api(local_hub)
    api.create_repo("alice/bad-card")
    card = CARD.replace("      value: 0.71\n", "")
    message = r'Invalid metadata in README.md.\n- "model-index\[0\].results\[0\].metrics\[0\].value" is required'
    with pytest.raises(ValueError, match=message):
        _readme(api, "alice/bad-card", card)
    assert local_hub.server.count("POST", r"/commit/") == 0
    assert [f for f in api.list_repo_files("alice/bad-card") if f == "README.md"] == []


def test_a_card_without_metadata_warns_as_the_hub_does(local_hub):
    api = _api(local_hub)
    api.create_repo("alice/plain")
    with pytest.warns(UserWarning, match="empty or missing yaml metadata in repo card"):
        _readme(api, "alice/plain", "# Just a title\n")
    info = api.model_info("alice/plain")
    assert info.card_data is None and info.tags == ["region:us"]


def test_dataset_info_derives_key_value_tags(local_hub):
    api = _api(local_hub)
    api.create_repo("alice/adult-data", repo_type="dataset")
    card = "---\nlicense: mit\ntask_categories: [tabular-classification]\nlanguage: [en]\ntags: [tabular]\n---\n# d\n"
    _readme(api, "alice/adult-data", card, repo_type="dataset")
    info = api.dataset_info("alice/adult-data")
    assert info.tags == ["tabular", "task_categories:tabular-classification", "language:en", "license:mit", "region:us"]
    assert info.card_data.license == "mit" and info.card_data.task_categories == ["tabular-classification"]


def _safetensors_bytes(tensors: dict[str, tuple[str, list[int]]]) -> bytes:
    """A safetensors file: little-endian header length, JSON header, zeroed data."""
    import json
    import struct

    widths = {"F32": 4, "F16": 2, "I64": 8}
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, (dtype, shape) in tensors.items():
        size = widths[dtype] * int(np.prod(shape))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + bytes(offset)


def test_model_info_reports_safetensors_parameters_as_the_hub_does(local_hub):
    """``model_info().safetensors``: parameters per dtype of the top-level .safetensors files, LFS or not."""
    alice = local_hub.api("alice")
    alice.create_repo("alice/tensors")
    weights = _safetensors_bytes({"w": ("F32", [3, 4]), "b": ("F32", [4]), "step": ("I64", [])})
    alice.upload_file(path_or_fileobj=weights, path_in_repo="model.safetensors", repo_id="alice/tensors")
    alice.upload_file(
        path_or_fileobj=_safetensors_bytes({"h": ("F16", [2, 5])}), path_in_repo="extra/head.safetensors",
        repo_id="alice/tensors",
    )  # fmt: skip
    alice.upload_file(
        path_or_fileobj=_safetensors_bytes({"h": ("F16", [2, 5])}), path_in_repo="model-head.safetensors",
        repo_id="alice/tensors",
    )  # fmt: skip
    info = local_hub.api().model_info("alice/tensors")
    assert info.safetensors.parameters == {"F32": 16, "I64": 1, "F16": 10} and info.safetensors.total == 27
    assert local_hub.api().model_info("alice/tensors", expand=["safetensors"]).safetensors.total == 27
    listed = list(local_hub.api().list_models(author="alice", expand=["safetensors"]))
    assert listed[0].safetensors.total == 27

    alice.delete_file("model-head.safetensors", repo_id="alice/tensors")  # the sub-folder's file is not counted
    assert local_hub.api().model_info("alice/tensors").safetensors.parameters == {"F32": 16, "I64": 1}
    assert alice.get_safetensors_metadata("alice/tensors").parameter_count == {"F32": 16, "I64": 1}
    # a pointer to alice's weights committed elsewhere reveals nothing of them (not even from the cache)
    import base64
    import hashlib
    import json

    import httpx2

    pointer = (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(weights).hexdigest()}\n"
        f"size {len(weights)}\n"
    ).encode()
    local_hub.api("bob").create_repo("bob/peek")
    lines = [
        {"key": "header", "value": {"summary": "peek"}},
        {"key": "file", "value": {"path": "model.safetensors", "content": base64.b64encode(pointer).decode()}},
    ]
    body = "\n".join(json.dumps(line) for line in lines).encode()
    as_bob = {"Authorization": f"Bearer {local_hub.tokens['bob']}"}
    assert httpx2.post(f"{local_hub.url}/api/models/bob/peek/commit/main", content=body, headers=as_bob).is_success
    assert local_hub.api().model_info("bob/peek").safetensors is None
    alice.upload_file(path_or_fileobj=b"\xff" * 64, path_in_repo="model.safetensors", repo_id="alice/tensors")
    assert local_hub.api().model_info("alice/tensors").safetensors is None  # a broken header counts nothing
    alice.create_repo("alice/plain")
    assert local_hub.api().model_info("alice/plain").safetensors is None
