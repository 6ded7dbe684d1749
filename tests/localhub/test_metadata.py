"""Card metadata on the local Hub: what model_info derives from a README, and validate-yaml.

The helpers of gmm_hub.localhub._metadata are tested directly, then every behaviour
through the unmodified huggingface_hub client against the local Hub.
"""

from __future__ import annotations

import pytest
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
