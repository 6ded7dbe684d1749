"""Tests for gmm_hub.evaluation._metrics, against hand-computed values."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from gmm_hub.evaluation import MAX_CURVE_POINTS, evaluate, evaluate_model, format_table
from gmm_hub.evaluation._metrics import _balanced_accuracy, _f1_macro, sensitive_columns
from gmm_hub.exceptions import InvalidInputError

# TN=3, FP=1, FN=1, TP=1
Y_TRUE = np.array([0, 0, 0, 0, 1, 1])
Y_PRED = np.array([0, 0, 0, 1, 1, 0])
# ranking: 0.9 (pos), 0.6 (neg), 0.4 (pos), 0.3, 0.2, 0.1 (neg)
Y_SCORE = np.array([0.1, 0.2, 0.3, 0.6, 0.9, 0.4])

BINARY_KEYS = {
    "n_samples",
    "labels",
    "balanced_accuracy",
    "f1_macro",
    "accuracy",
    "confusion_matrix",
    "classification_report",
    "pos_label",
    "mcc",
    "average_precision",
    "precision_recall_curve",
    "per_class",
    "intervals",
}


def test_evaluate_binary_hand_computed():
    result = evaluate(Y_TRUE, Y_PRED, Y_SCORE)
    assert set(result) == BINARY_KEYS
    assert result["n_samples"] == 6
    assert result["labels"] == [0, 1] and result["pos_label"] == 1
    assert result["confusion_matrix"] == [[3, 1], [1, 1]]
    assert result["balanced_accuracy"] == pytest.approx((3 / 4 + 1 / 2) / 2)  # 0.625
    assert result["f1_macro"] == pytest.approx((0.75 + 0.5) / 2)  # F1(0) = 0.75, F1(1) = 0.5
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["mcc"] == pytest.approx((1 * 3 - 1 * 1) / np.sqrt(2 * 2 * 4 * 4))  # 0.25
    # AP = sum over positives of precision at its rank * recall step = 1 * 0.5 + 2/3 * 0.5
    assert result["average_precision"] == pytest.approx(0.5 + (2 / 3) * 0.5)
    report = result["classification_report"]
    assert report["1"]["precision"] == pytest.approx(0.5) and report["1"]["support"] == 2
    assert report["0"]["recall"] == pytest.approx(0.75)
    curve = result["precision_recall_curve"]
    assert len(curve["precision"]) == len(curve["recall"]) >= 3
    assert curve["precision"][-1] == 1.0 and curve["recall"][-1] == 0.0
    assert curve["recall"][0] == 1.0


def test_evaluate_without_scores_has_no_pr_keys():
    result = evaluate(Y_TRUE, Y_PRED)
    assert set(result) == BINARY_KEYS - {"average_precision", "precision_recall_curve"}


def test_evaluate_accepts_predict_proba_matrix():
    proba = np.column_stack([1 - Y_SCORE, Y_SCORE])
    assert evaluate(Y_TRUE, Y_PRED, proba)["average_precision"] == pytest.approx(5 / 6)


def test_evaluate_is_json_serialisable_with_numpy_and_string_labels():
    y_true = pd.Series(np.array(["benign", "benign", "malignant", "malignant"]))
    y_pred = np.array(["benign", "malignant", "malignant", "malignant"], dtype=np.str_)
    result = evaluate(y_true, y_pred, np.array([0.2, 0.7, 0.8, 0.9], dtype=np.float32))
    text = json.dumps(result)
    assert json.loads(text) == result
    assert result["labels"] == ["benign", "malignant"] and type(result["labels"][0]) is str
    assert result["pos_label"] == "malignant"
    assert result["confusion_matrix"] == [[1, 1], [0, 2]]
    assert "malignant" in result["classification_report"]


def test_evaluate_numpy_int_labels_become_int():
    result = evaluate(Y_TRUE.astype(np.int64), Y_PRED.astype(np.int64), Y_SCORE, labels=np.array([0, 1]))
    assert all(type(label) is int for label in result["labels"])
    assert type(result["pos_label"]) is int
    assert all(type(v) is int for row in result["confusion_matrix"] for v in row)
    json.dumps(result)


def test_evaluate_labels_order_sets_positive_class():
    result = evaluate(Y_TRUE, Y_PRED, 1 - Y_SCORE, labels=[1, 0])
    assert result["pos_label"] == 0
    assert result["confusion_matrix"] == [[1, 1], [1, 3]]


def test_evaluate_multiclass_has_no_binary_keys():
    y_true = [0, 1, 2, 2, 1, 0]
    y_pred = [0, 2, 2, 2, 1, 1]
    result = evaluate(y_true, y_pred, np.full((6, 3), 1 / 3))
    assert "pos_label" not in result and "mcc" not in result and "average_precision" not in result
    assert result["confusion_matrix"] == [[1, 1, 0], [0, 1, 1], [0, 0, 2]]
    assert result["balanced_accuracy"] == pytest.approx((1 / 2 + 1 / 2 + 1) / 3)
    json.dumps(result)


def test_evaluate_pr_curve_downsampled_keeps_endpoints():
    rng = np.random.RandomState(0)
    y_true = rng.randint(0, 2, 5000)
    y_score = rng.rand(5000)
    result = evaluate(y_true, (y_score > 0.5).astype(int), y_score)
    curve = result["precision_recall_curve"]
    assert len(curve["precision"]) == len(curve["recall"]) == MAX_CURVE_POINTS
    assert curve["recall"][0] == 1.0 and curve["recall"][-1] == 0.0 and curve["precision"][-1] == 1.0
    assert all(a >= b for a, b in zip(curve["recall"], curve["recall"][1:], strict=False))  # order kept


def test_evaluate_no_positive_in_y_true_gives_null_average_precision():
    with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):  # from balanced_accuracy
        result = evaluate([0, 0, 0], [0, 1, 0], [0.1, 0.8, 0.2], labels=[0, 1])
    assert result["average_precision"] is None
    json.dumps(result)


def test_evaluate_length_mismatch():
    with pytest.raises(InvalidInputError, match=r"equal length; got shapes \(6,\) and \(5,\)"):
        evaluate(Y_TRUE, Y_PRED[:5])


def test_evaluate_empty():
    with pytest.raises(InvalidInputError, match="at least one sample"):
        evaluate([], [])


def test_evaluate_bad_score_shape():
    with pytest.raises(InvalidInputError, match=r"expected shape \(6,\) or \(6, 2\), got \(5,\)"):
        evaluate(Y_TRUE, Y_PRED, Y_SCORE[:5])


def test_evaluate_model_matches_evaluate():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 1, (90, 2)), rng.normal(2, 1, (10, 2))])
    y = np.array(["no"] * 90 + ["yes"] * 10)
    model = LogisticRegression().fit(X, y)
    result = evaluate_model(model, X, y)
    expected = evaluate(y, model.predict(X), model.predict_proba(X)[:, 1], labels=model.classes_)
    assert result == expected
    assert result["pos_label"] == "yes" and "average_precision" in result
    json.dumps(result)


def test_format_table_markdown():
    rows = [{"model": "gmm", "f1": 0.5, "n": 3}, {"model": "a|b", "f1": float("nan")}]
    assert format_table(rows, ["model", "f1", "n"], digits=2) == (
        "| model | f1 | n |\n| --- | --- | --- |\n| gmm | 0.50 | 3 |\n| a\\|b | nan |  |"
    )


def test_metrics_table_lists_baselines_and_failures():
    from gmm_hub.evaluation import metrics_table

    metrics = {
        "balanced_accuracy": 0.9,
        "f1_macro": 0.8,
        "baselines": {"QDA": {"status": "failed: LinAlgError"}, "nb": {"balanced_accuracy": 0.7, "f1_macro": 0.6}},
    }
    lines = metrics_table(metrics).splitlines()
    assert lines[0] == "| model | balanced_accuracy | f1_macro | status |"
    assert "| gmm_hub | 0.9000 | 0.8000 |  |" in lines
    assert "| QDA |  |  | failed: LinAlgError |" in lines
    assert metrics_table({"balanced_accuracy": 0.5, "f1_macro": 0.5}).splitlines()[0] == (
        "| model | balanced_accuracy | f1_macro |"
    )


# ----------------------------------------------------------------------------- intervals


def test_evaluate_per_class_wilson_interval_hand_computed():
    # 79 negatives all right, 4 of 5 positives found: the ecoli4 case of issue 16
    y_true = np.array([0] * 79 + [1] * 5)
    y_pred = y_true.copy()
    y_pred[-1] = 0
    minority = evaluate(y_true, y_pred)["per_class"][1]
    assert minority["label"] == "1" and minority["support"] == 5 and minority["predicted"] == 4
    assert minority["recall"] == pytest.approx(0.8)
    # Wilson: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.95996
    z = 1.959964
    centre = (0.8 + z**2 / 10) / (1 + z**2 / 5)
    half = z * np.sqrt(0.8 * 0.2 / 5 + z**2 / 100) / (1 + z**2 / 5)
    assert minority["recall_ci"] == pytest.approx([centre - half, centre + half], abs=1e-6)  # 0.376-0.964


def test_evaluate_bootstrap_interval_contains_estimate_and_is_seeded():
    rng = np.random.RandomState(0)
    y_true = rng.randint(0, 3, 200)
    y_pred = np.where(rng.rand(200) < 0.7, y_true, rng.randint(0, 3, 200))
    first = evaluate(y_true, y_pred, n_resamples=300)
    again = evaluate(y_true, y_pred, n_resamples=300)
    assert first["intervals"] == again["intervals"]
    assert first["intervals"]["n_resamples"] == 300 and first["intervals"]["confidence_level"] == 0.95
    for key in ("f1_macro", "balanced_accuracy"):
        low, high = first["intervals"][key]
        assert low < first[key] < high and high - low < 0.25
    assert "intervals" not in evaluate(y_true, y_pred, n_resamples=0)


def test_evaluate_perfect_predictions_give_a_point_interval():
    result = evaluate([0, 1, 1, 0, 1], [0, 1, 1, 0, 1], n_resamples=50)
    assert result["intervals"]["f1_macro"] == [1.0, 1.0]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 5).flatmap(
        lambda k: st.tuples(
            st.just(k),
            st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), min_size=1, max_size=40),
        )
    )
)
def test_vectorised_metrics_match_scikit_learn(case):
    from sklearn.metrics import balanced_accuracy_score, f1_score

    k, pairs = case
    t, p = (np.array(v) for v in zip(*pairs, strict=True))
    assert _f1_macro(t, p, k) == pytest.approx(f1_score(t, p, average="macro", zero_division=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true"
        assert _balanced_accuracy(t, p, k) == pytest.approx(balanced_accuracy_score(t, p))


# ----------------------------------------------------------------------------- groups and examples


def test_sensitive_columns_match_ignoring_case_and_separators():
    columns = ["Age", "native_country", "Marital Status", "hours", "SEX", "race_code"]
    assert sensitive_columns(columns) == ["Age", "native_country", "Marital Status", "SEX"]
    assert sensitive_columns(columns, ["hours"]) == ["hours"]


def _people(n=200, seed=0):
    rng = np.random.RandomState(seed)
    y = np.where(rng.rand(n) < 0.3, "yes", "no")
    X = pd.DataFrame(
        {
            "age": rng.randint(18, 90, n),
            "sex": rng.choice(["F", "M"], n),
            "x": rng.normal(size=n) + (y == "yes"),
        }
    )
    X.loc[0, "x"] = np.nan
    return X, y


def test_evaluate_model_groups_per_sensitive_column():
    X, y = _people()
    model = LogisticRegression().fit(X[["age", "x"]].fillna(0), y)
    predict = model.predict
    model.predict = lambda X: predict(X[["age", "x"]].fillna(0))  # a model that takes the frame
    model.predict_proba = lambda X, f=model.predict_proba: f(X[["age", "x"]].fillna(0))
    result = evaluate_model(model, X, y, n_resamples=0)
    groups = result["sensitive"]["columns"]
    assert list(groups) == ["age", "sex"]
    assert groups["age"]["grouping"] == "quartiles of the test rows" and len(groups["age"]["groups"]) == 4
    for entry in groups.values():
        assert sum(g["n"] for g in entry["groups"]) == len(X)
        for g in entry["groups"]:
            assert sum(g["class_counts"]) == g["n"]
    female = next(g for g in groups["sex"]["groups"] if g["group"] == "F")
    rows = (X["sex"] == "F").to_numpy()
    from sklearn.metrics import balanced_accuracy_score, f1_score

    assert female["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y[rows], model.predict(X)[rows]))
    assert female["f1_macro"] == pytest.approx(f1_score(y[rows], model.predict(X)[rows], average="macro"))
    assert "sensitive" not in evaluate_model(model, X, y, sensitive=None, n_resamples=0)


def test_evaluate_model_examples_are_complete_rows_one_per_class():
    X, y = _people()
    model = LogisticRegression().fit(X[["age", "x"]].fillna(0), y)
    predict = model.predict
    model.predict = lambda X: predict(X[["age", "x"]].fillna(0))
    model.predict_proba = lambda X, f=model.predict_proba: f(X[["age", "x"]].fillna(0))
    examples = evaluate_model(model, X, y, n_resamples=0)["examples"]
    rows = pd.DataFrame(examples["rows"])
    assert len(rows) == 3 and set(examples["labels"]) == {"yes", "no"}
    assert rows.notna().all().all()  # row 0, with its NaN, is never chosen
    assert all(type(v) is int for v in examples["rows"]["age"])
    merged = rows.merge(X, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()  # real rows of X
    json.dumps(examples)
    assert "examples" not in evaluate_model(model, X, y, n_examples=0, n_resamples=0)
