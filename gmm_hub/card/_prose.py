"""The sentences of the model card, each conditional on what config.json holds.

Every function here reads only the bundle's ``config.json`` and returns
markdown text, or nothing when the fact it would state is not recorded: the
card omits a sentence rather than guess. :func:`input_policy` is the one
place that says what happens to each kind of prediction input.
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

__all__ = [
    "IMBALANCED_RATIO",
    "REFERENCES",
    "input_policy",
    "limitations",
    "model_description",
    "preprocessing_lines",
    "threshold_sentence",
]

#: Majority/minority ratio from which the card treats a problem as imbalanced
#: (the ``imbalanced-classification`` tag, the imbalance bullet). KEEL's
#: imbalanced suite, which gmm_hub's benchmark uses too, starts at 9.
IMBALANCED_RATIO = 9.0

#: key -> reference; the card lists only those its text cites.
REFERENCES = {
    "em": "Dempster, A. P., Laird, N. M. and Rubin, D. B. (1977). Maximum likelihood from incomplete data via "
    "the EM algorithm. *Journal of the Royal Statistical Society, Series B*, 39(1), 1-38. "
    "https://doi.org/10.1111/j.2517-6161.1977.tb01600.x",
    "bic": "Schwarz, G. (1978). Estimating the dimension of a model. *The Annals of Statistics*, 6(2), 461-464. "
    "https://doi.org/10.1214/aos/1176344136",
    "rda": "Friedman, J. H. (1989). Regularized discriminant analysis. *Journal of the American Statistical "
    "Association*, 84(405), 165-175. https://doi.org/10.1080/01621459.1989.10478752",
    "yeojohnson": "Yeo, I.-K. and Johnson, R. A. (2000). A new family of power transformations to improve "
    "normality or symmetry. *Biometrika*, 87(4), 954-959. https://doi.org/10.1093/biomet/87.4.954",
    "wilson": "Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference. "
    "*Journal of the American Statistical Association*, 22(158), 209-212. https://doi.org/10.1080/01621459.1927.10502953",
    "bootstrap": "Efron, B. and Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*. Chapman & Hall.",
    "imbalance": "He, H. and Garcia, E. A. (2009). Learning from imbalanced data. *IEEE Transactions on Knowledge "
    "and Data Engineering*, 21(9), 1263-1284. https://doi.org/10.1109/TKDE.2008.239",
}

TUNING_METRICS = {"f1_macro": "F1-macro", "balanced_accuracy": "balanced accuracy"}
#: OneHotEncoder(handle_unknown=...) -> what it does with a category not seen in training
_UNKNOWN = {
    "ignore": "is encoded as all zeros",
    "infrequent_if_exist": "goes to the infrequent column (all zeros if there is none)",
    "warn": "is encoded as all zeros (or the infrequent column)",
    "error": "is an error",
}


def _code(value: Any) -> str:
    return f"`{value}`"


def _names(values: list[Any], limit: int = 6) -> str:
    shown = ", ".join(_code(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _finite(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# ----------------------------------------------------------------------------- the model


def threshold_sentence(config: dict[str, Any], pos_label: Any) -> str | None:
    """How a prediction is made from the posteriors: tuned, fixed or arg-max."""
    model = config.get("model") or {}
    params = model.get("params") or {}
    classes = config.get("classes") or []
    threshold = model.get("threshold")
    if len(classes) > 2 or (len(classes) == 2 and threshold is None and "threshold" not in params):
        return "The class with the highest posterior probability is predicted (no threshold)."
    if not _finite(threshold):
        return None
    requested = params.get("threshold")
    rule = f"class {_code(pos_label)} is predicted when its posterior probability exceeds **{threshold:.4g}**"
    if requested in TUNING_METRICS:
        folds = params.get("cv")
        where = f"{folds}-fold out-of-fold" if _finite(folds) else "out-of-fold"
        metric = TUNING_METRICS[requested]
        text = f"The threshold was tuned to maximise {metric} on {where} scores of the training rows: {rule}"
        if threshold == 0.5:
            text += " (0.5 is also what tuning falls back to when a class has too few rows)"
        return text + "."
    if threshold == 0.5:
        return f"The threshold is the untuned default: {rule}, i.e. the more probable class wins."
    return f"The threshold was fixed by hand, not tuned: {rule}."


def _priors_sentence(config: dict[str, Any]) -> str | None:
    priors = (config.get("model") or {}).get("priors")
    if priors == "balanced":
        return "Every class gets the same prior, so a rare class is not outvoted by its low frequency in training."
    if priors == "empirical":
        return "Class priors are the class frequencies of the training rows."
    if isinstance(priors, list):
        return "Class priors were given explicitly (see the per-class table)."
    return None


def _regularisation_sentence(params: dict[str, Any], fitted: dict[str, Any]) -> str:
    """How the covariances were regularised: the MAP prior, or the fixed relative floor."""
    units = "Fitting is done on standardised features, so the model does not depend on their units. "
    prior_rows = fitted.get("prior_rows")
    rows = prior_rows if isinstance(prior_rows, list) else [prior_rows]
    if any(r is None or (_finite(r) and r > 0) for r in rows) and prior_rows is not None:
        shown = ", ".join("all" if r is None else f"{r:.3g}" for r in rows)
        return (
            units + "Each component's covariance is shrunk toward the other classes' pooled covariance by a "
            "conjugate prior whose strength was chosen per class by held-out likelihood, worth "
            f"{shown} pseudo-rows (in class order); its pull fades as a class's rows grow, so it "
            "matters most for small classes (Friedman, 1989)."
        )
    reg = params.get("reg_covar", "auto")
    fitted_scale = fitted.get("floor_scale")
    scales = fitted_scale if isinstance(fitted_scale, list) else [fitted_scale]
    shapes = fitted.get("floor_shape")
    shapes = shapes if isinstance(shapes, list) else ["diagonal"]  # bundles before floor shapes: diagonal
    spread = _shape_phrase(shapes)
    chosen = reg == "auto" and all(_finite(c) for c in scales)
    if not chosen:  # a fixed multiplier, or a 0.1 bundle's fixed 0.15
        reg = 0.15 if reg == "auto" else reg
        if not _finite(reg):
            return units.strip()
        return (
            units + f"Each class's covariances get a floor of {reg:g} x (1 + features / class rows) of each "
            f"feature's variance, {spread}, which keeps a small class from collapsing onto its few rows."
        )
    shown = f"{scales[0]:.3g}" if len(set(scales)) == 1 else ", ".join(f"{c:.3g}" for c in scales) + " (in class order)"
    return (
        units + f"Each class's covariances get a floor of c x (1 + features / class rows) of each feature's "
        f"variance, with c = {shown}, {spread}: both chosen per class (c from 1e-06 to 0.5; the floor on the "
        "diagonal, as a ridge, or spread like the within-class correlation pooled over classes) by 3-fold "
        "cross-validated balanced log-loss, as regularised discriminant analysis chooses its regularisation "
        "(Friedman, 1989), then, on continuous features, scaled to the rows of the final fit as a fixed "
        "prior's pull fades (in proportion to 1 / rows). "
        "It keeps a small class from collapsing onto its few rows, and is weak where smoothing does not help."
    )


_SHAPES = {"diagonal": "on the diagonal", "pooled": "spread like the pooled within-class correlation"}


def _shape_phrase(shapes: list[Any]) -> str:
    """Where the floor goes: one phrase for every class, or each class's shape in class order."""
    if len(set(shapes)) == 1:
        return _SHAPES.get(str(shapes[0]), "on the diagonal")
    return "shaped " + ", ".join(str(s) for s in shapes) + " (in class order)"


def _transform_sentence(fitted: dict[str, Any]) -> str | None:
    """Which features the classifier bent toward a Gaussian before fitting (None: none)."""
    lambdas = fitted.get("power_lambdas")
    if not isinstance(lambdas, list):
        return None
    bent = sum(1 for lam in lambdas if lam != 1.0)
    return (
        f"Before fitting, {bent} of the {len(lambdas)} features were bent toward a Gaussian shape by a "
        "Yeo-Johnson transform (Yeo & Johnson, 2000), its parameter chosen per feature within [0, 2] (where "
        "the transform maps the real line onto itself) to maximise the mean over classes of each class's "
        "Gaussian log-likelihood, the bends kept because they also raised the classes' joint Gaussian "
        "log-likelihood (linearly related features, which bending one by one would break, stay as they are); "
        "features with fewer than three values or one value in half the rows are left as they are."
    )


def model_description(config: dict[str, Any], pos_label: Any) -> tuple[list[str], set[str]]:
    """Sentences describing the classifier, and the reference keys they cite."""
    model = config.get("model") or {}
    params = model.get("params") or {}
    fitted = model.get("fitted") or {}
    cited = {"em"}
    chosen = []
    if params.get("n_components") == "bic":
        chosen.append(f"the number of components (1 to {params.get('max_components', '?')})")
    if params.get("covariance_type") == "auto":
        chosen.append("the covariance type")
    first = "Each class is modelled by its own Gaussian mixture, fitted by EM (Dempster et al., 1977)"
    if chosen:
        cited.add("bic")
        first += f"; {' and '.join(chosen)} were chosen per class by BIC (Schwarz, 1978)"
    else:
        n, cov = params.get("n_components"), params.get("covariance_type")
        if n is not None and cov is not None:
            first += f" with {n} component(s) and {_code(cov)} covariances for every class"
    lines = [first + "."]
    transform = _transform_sentence(fitted)
    if transform:
        cited.add("yeojohnson")
        lines.append(transform)
    lines.append(_regularisation_sentence(params, fitted))
    if "Friedman, 1989" in lines[-1]:
        cited.add("rda")
    lines.append("A row goes to a class by Bayes' rule: class log-density plus log prior.")
    priors = _priors_sentence(config)
    if priors:
        lines.append(priors)
    threshold = threshold_sentence(config, pos_label)
    if threshold:
        lines.append(threshold)
    return lines, cited


# ----------------------------------------------------------------------------- preprocessing


def _step_words(step: dict[str, Any]) -> str | None:
    kind = step.get("step")
    if kind in ("drop", "passthrough"):
        return "dropped" if kind == "drop" else "passed through unchanged"
    if isinstance(kind, str) and kind.endswith("Imputer"):
        strategy = step.get("strategy")
        how = {"median": "the training median", "mean": "the training mean", "most_frequent": "the most frequent value"}
        return f"missing values filled with {how.get(str(strategy), repr(strategy))}"
    if kind == "StandardScaler":
        parts = [
            p
            for p, on in (
                ("minus the training mean", step.get("with_mean")),
                ("divided by the training standard deviation", step.get("with_std")),
            )
            if on
        ]
        return "standardised (" + ", ".join(parts) + ")" if parts else "StandardScaler (identity)"
    if kind == "TargetEncoder":
        return (
            "target encoded: each category replaced by the mean of the target within it, shrunk toward the "
            "overall mean (cross-fitted while training); a category not seen in training gets the overall mean"
        )
    if kind == "OneHotEncoder":
        text = "one-hot encoded"
        frequency = step.get("min_frequency")
        if _finite(frequency) and frequency > 0:
            share = f"{frequency:.0%} of training rows" if frequency < 1 else f"{frequency:g} training rows"
            text += f"; categories seen in fewer than {share} are pooled into one *infrequent* column"
        unknown = _UNKNOWN.get(str(step.get("handle_unknown")))
        if unknown:
            unknown = f"a category not seen in training {unknown}"
        if unknown:
            text += f"; {unknown}"
        return text
    return f"{_code(kind)}" if kind else None


def preprocessing_lines(config: dict[str, Any]) -> list[str]:
    """One line per group of columns, naming each step of the saved pipeline in words."""
    model = config.get("model") or {}
    steps = model.get("preprocessing")
    if not isinstance(steps, list):
        return []
    if not steps and not str(model.get("estimator", "")).endswith("Pipeline"):
        return ["None: the classifier reads the input columns as given."]
    branches: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for step in steps:
        text = _step_words(step)
        if text is None:
            continue
        key = (str(step.get("branch", "")), tuple(step.get("columns") or ()))
        branches.setdefault(key, []).append(text)
    lines = []
    for (_, columns), words in branches.items():
        who = f"{len(columns)} column(s) ({_names(list(columns), 4)})" if columns else "All columns"
        lines.append(f"{who}: " + ", then ".join(words) + ".")
    return lines


def _unknown_policy(config: dict[str, Any]) -> dict[str, str]:
    """column -> the encoder's handle_unknown, from the recorded preprocessing."""
    out = {}
    for step in (config.get("model") or {}).get("preprocessing") or []:
        if step.get("step") == "OneHotEncoder":
            for col in step.get("columns") or []:
                out[col] = str(step.get("handle_unknown"))
    return out


# ----------------------------------------------------------------------------- inputs


def input_policy(config: dict[str, Any]) -> list[str]:
    """What ``gmm_hub.load(...).predict`` does with each kind of input, from the schema.

    The policy itself lives in ``gmm_hub.bundle._schema`` (columns by name,
    missing or duplicated column names refused, extra columns dropped with a
    warning, unseen categories accepted with a warning, non-integral floats in
    an integer column refused, NaN refused unless the column is imputed); this
    function says which parts apply to this model's columns.
    """
    schema = config.get("schema") or {}
    columns = schema.get("columns") or []
    if not columns:
        return []
    lines = [
        "Columns are matched by name, in any order. A missing column or a repeated column name is an error; "
        "an extra column is dropped with a warning."
    ]
    categorical = [c for c in columns if c.get("kind") == "categorical"]
    if categorical:
        unknown = _unknown_policy(config)
        policies = {unknown.get(c["name"]) for c in categorical}
        names = _names([c["name"] for c in categorical])
        if policies == {"error"}:
            lines.append(f"In the categorical column(s) {names}, a category not seen in training is an error.")
        else:
            encoded = _UNKNOWN.get(str(policies.pop())) if len(policies) == 1 else None
            then = f"then {encoded.removeprefix('is ')}" if encoded else "then encoded as the encoder's unknown bucket"
            lines.append(
                f"In the categorical column(s) {names}, a category not seen in training is accepted with a warning, "
                f"{then}, which still moves the probabilities."
            )
    integers = [c["name"] for c in columns if str(c.get("dtype", "")).startswith(("int", "uint", "Int", "UInt"))]
    if integers:
        lines.append(f"Column(s) {_names(integers)} hold integers: a float with a fractional part there is an error.")
    nullable = [c["name"] for c in columns if c.get("nullable", schema.get("handles_missing"))]
    if len(nullable) == len(columns):
        lines.append("Missing values (NaN or None) are accepted in every column: the pipeline imputes them.")
    elif nullable:
        lines.append(f"Missing values are imputed in {_names(nullable)}; anywhere else a missing value is an error.")
    else:
        lines.append("A missing value (NaN or None) in any column is an error: this pipeline does not impute.")
    return lines


# ----------------------------------------------------------------------------- limitations


def limitations(
    config: dict[str, Any],
    *,
    smallest: dict[str, Any] | None,
    ratio: float | None,
    sensitive: list[str],
) -> tuple[list[str], set[str]]:
    """Bullets specific to this model, and the reference keys they cite."""
    schema = config.get("schema") or {}
    categorical = [c["name"] for c in schema.get("columns") or [] if c.get("kind") == "categorical"]
    cited: set[str] = set()
    bullets = []
    text = (
        "**Gaussian assumption.** Within each class the preprocessed features are modelled as a mixture of "
        "Gaussians; heavy tails, skewed or discrete features and outliers break this, and the probabilities can "
        "then be poorly calibrated even when the ranking is good."
    )
    if categorical:
        text += f" The one-hot columns of {_names(categorical, 4)} are discrete by construction."
    bullets.append(text)
    n_columns = len(schema.get("columns") or []) or 1
    n_train, support = (smallest or {}).get("n_train"), (smallest or {}).get("support")
    # small: under 10 rows per input column to fit on (the events-per-variable rule of thumb),
    # or under 30 rows to test on (a recall interval then spans more than +-0.15)
    small = smallest is not None and (
        (_finite(n_train) and n_train < 10 * n_columns) or (_finite(support) and support < 30)
    )
    if smallest is not None and small:
        counts = []
        if _finite(n_train):
            counts.append(f"{int(n_train)} training rows")
        if _finite(support):
            counts.append(f"{int(support)} test rows")
        text = f"**Small class.** The smallest class, {_code(smallest['label'])}, has " + " and ".join(counts)
        text += "; its mixture is fitted on those rows alone, so its density is coarse"
        if _finite(support) and support < 30:
            text += ", and every test metric that involves it rests on those few rows (see the intervals)"
        bullets.append(text + ".")
    if ratio is not None and ratio >= IMBALANCED_RATIO:
        cited.add("imbalance")
        bullets.append(
            f"**Imbalance.** With a majority/minority ratio of {ratio:.1f}:1, judge the model by balanced "
            "accuracy and F1-macro, not accuracy (He and Garcia, 2009), and expect minority recall to vary "
            "between retrainings."
        )
    bullets.append(
        "**Prior shift.** The decision rule assumes the class balance it was tuned for; if the classes are "
        "distributed differently where the model is used, re-check the threshold on representative data."
    )
    if sensitive:
        bullets.append(
            f"**People.** The inputs include {_names(sensitive)}; the per-group metrics below are measured on the "
            "test split only. Do not use the model for decisions about people without an independent evaluation, "
            "a fairness review and human oversight."
        )
    return bullets, cited
