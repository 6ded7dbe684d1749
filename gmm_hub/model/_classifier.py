"""The per-class Gaussian-mixture classifier."""

from __future__ import annotations

import functools
import numbers
import time
import warnings
from typing import Any, TypeGuard

import numpy as np
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..exceptions import InvalidInputError
from ._em import to_input_units
from ._floor import FLOOR_SHAPES, FLOOR_START, SHAPE_START, class_floor, cross_validated_floor, fading
from ._parallel import fit_threads
from ._prior import (
    CovariancePrior,
    dequantisation_floor,
    held_out_prior_rows,
    pooled_correlation,
    pooled_covariance,
    standardise,
)
from ._scoring import check_finite, fused_scorer, power_transform
from ._selection import COVARIANCE_TYPES, at_least_two_rows, fit_class_mixtures
from ._threshold import TUNING_METRICS, cross_validated_threshold
from ._transform import (
    asinh_bend,
    asinh_log_jacobian,
    evenly_spaced,
    fit_asinh,
    fit_lambdas,
    joint_transform,
    log_jacobian,
    shape_rows,
    yeo_johnson,
)

# Rows scored at once are sized so each chunk's temporaries stay near this many bytes.
_CHUNK_BYTES = 64 * 2**20
# Fewer rows than this in a class and out-of-fold threshold tuning is noise.
_MIN_ROWS_TO_TUNE = 3


class GMMClassifier(ClassifierMixin, BaseEstimator):
    """Classify by Bayes' rule with one Gaussian mixture per class.

    Each class gets its own :class:`~sklearn.mixture.GaussianMixture`, with the
    number of components (and optionally the covariance type) chosen by BIC.
    Prediction combines the class log-likelihoods with the class priors in log
    space. Priors default to equal ("balanced"), which suits rare classes:
    the minority is not drowned by its low base rate. For binary problems the
    decision threshold can be tuned on out-of-fold scores of the training data.

    Fitting is invariant to the units of each feature: the mixtures are fitted
    on standardised features, and every regularisation amount is relative to
    each feature's own variance, so ``GMMClassifier()`` on raw features gives
    the model it gives on the same features standardised.

    By default each skewed feature is first bent toward a Gaussian shape by a
    Yeo-Johnson transform (Yeo & Johnson, 2000) of the standardised feature,
    its parameter chosen per feature within ``[0, 2]`` (where the transform
    maps the real line onto itself, so each class's density integrates to
    one) to maximise the mean over classes of each class's Gaussian
    log-likelihood per row (the mixtures model the classes, and a rare class
    counts as much as the majority). The bends are kept only if they also
    raise the classes' joint Gaussian log-likelihood (one shrunk Gaussian
    per class, the Jacobian included): linearly related features, each
    skewed on its own, stay as they are, since bending them separately
    would break the relation the mixtures model. Features with
    fewer than three distinct values, or with one value in half the rows or
    more (a point mass no transform can spread), are left as they are. No
    power compresses both tails of a heavy-tailed feature (Cauchy,
    Student-t), and a power bends about the feature's mean, far from the
    bulk of a log-normal one; so a continuous feature whose bent values
    still have measurably heavy tails may take Johnson's S_U transform,
    ``asinh((z - shift) / spread)`` (Johnson, 1949), instead, where it beats
    the Yeo-Johnson bend on held-out rows. A
    mixture of a few Gaussians then spends its components on the classes'
    structure rather than on heavy tails. The transforms are smooth and monotone
    on the whole real line, so values beyond the training range stay extreme
    (a quantile transform would clip them).

    By default (``prior_rows=0``) class ``k`` adds ``c * (1 + n_features /
    n_k)`` of each feature's variance to its covariances: a floor that keeps
    a minority class of a few rows from collapsing. The floor has two
    shapes, the two directions regularised discriminant analysis (Friedman,
    1989) shrinks a class covariance in: ``"diagonal"`` (a ridge, toward
    independent features) and ``"pooled"`` (the same variances, spread like
    the within-class correlation pooled over all classes, Ledoit-Wolf
    shrunk: a floor of the shape the classes share, which leaves the
    proportions of correlated features, and their thin directions, as they
    are). How much smoothing, and of which shape, classifies best depends
    on the data, so each class's ``c`` and shape are chosen, as in
    regularised discriminant analysis, by cross-validation: each class's
    configuration (selected with ``c = 1e-3``, pooled: weak, so BIC sees
    the class's shape rather than the floor's) is refitted on 3
    folds of at most ``selection_size`` of its rows with each of ``1e-6,
    1e-3, 0.01, 0.05, 0.15, 0.5`` in both shapes (``1e-6``, numerical only,
    once; a class with more rows than ``selection_size`` is refitted on one
    fold only, and scores every row of the other classes), and the
    combination of per-class choices with the lowest out-of-fold balanced
    Brier score (the mean over classes of the squared distance of a row's
    posteriors from its one-hot class: proper, and bounded, so a few rows
    placed far out do not decide it) wins; where the held-out rows cannot
    tell options apart (within one standard error of the lowest score, as in
    Breiman et al.'s one-standard-error rule), the one under which each
    class's own held-out rows are likeliest (a class beside one subsampled
    for the folds keeps the lowest score: its false alarms among the
    unscored rows go unseen). When no fold can be held out (a class of
    one row), every class gets ``c = 0.15``. On a continuous
    feature a floor is what a fixed conjugate prior adds, which fades as
    ``1 / rows``, so there the chosen ``c`` is scaled by the folds' rows
    over the final fit's (a class subsampled for the folds gets a
    correspondingly weaker floor on its full fit); a quantised feature keeps
    all of it. This runs on the selection's fits, before any refit, so each
    mixture is refitted once, under its own floor. The criterion is
    classification first, each class's density only among options that
    classify alike: a large class separated along thin directions gets a
    weak floor (tested), but a majority whose smoothing helps the minority's
    rows keeps some (see the README).
    ``prior_rows="auto"`` replaces it with a
    data-adaptive prior: each component's covariance is the maximum a
    posteriori estimate under a conjugate (inverse-Wishart) prior centred on
    the other classes' pooled covariance, worth ``prior_rows_[k]`` pseudo-rows
    chosen per class by held-out likelihood (and dropped where it does not
    help the chosen mixture on held-out rows). Its weight ``prior_rows_[k] /
    (N_j + prior_rows_[k])`` vanishes as a component's rows ``N_j`` grow, so
    large classes get the maximum-likelihood fit, while a minority class is
    shrunk toward the shape the other classes share, as in regularised
    discriminant analysis (Friedman, 1989). Discrete features (one-hot
    columns, counts) then keep the variance of their own spacing
    (``gap**2 / 12``, the variance that dequantises them) in every component.
    It suits large numeric data with correlated features; on one-hot-heavy
    tables the fixed floor classifies better (see the README's benchmarks).

    Parameters
    ----------
    n_components : int or "bic", default="bic"
        Components per class. ``"bic"`` chooses, per class, the count in
        ``1..max_components`` with the lowest Bayesian information criterion.
    max_components : int, default=5
        Largest count tried when ``n_components="bic"``.
    covariance_type : {"full", "tied", "diag", "spherical", "auto"}, default="auto"
        Covariance of each mixture. ``"auto"`` lets BIC choose it per class,
        together with the number of components.
    priors : "balanced", "empirical" or array-like of shape (n_classes,), \
            default="balanced"
        Class prior probabilities. ``"balanced"`` gives every class the same
        prior; ``"empirical"`` uses the training frequencies; an array gives
        them explicitly in the order of ``classes_`` and must sum to 1.
    threshold : float or {"f1_macro", "balanced_accuracy"}, default=0.5
        Binary problems only: predict ``classes_[1]`` when its posterior
        probability exceeds this value. A metric name tunes the threshold to
        maximise that metric on ``cv``-fold out-of-fold scores of the training
        data, by the method of scikit-learn's ``TunedThresholdClassifierCV``
        (each fold's metric on 100 probability thresholds, the curves
        averaged, the best mean kept), with each fold refitting only the
        chosen configuration's parameters; the result is stored in
        ``threshold_``.
    cv : int, default=5
        Folds used to tune the threshold (lowered when the smallest class has
        fewer rows).
    feature_transform : "auto", "yeo-johnson" or None, default="auto"
        ``"auto"`` transforms the features as above (parameters estimated on
        at most ``max(2000, 50 * n_features)`` rows per class, S_U's on at
        most 2,000):
        Yeo-Johnson bends, and Johnson's S_U transform instead on each
        continuous feature (distinct values in half its rows or more) whose
        bent values still have heavy tails and where S_U wins on held-out
        rows. ``"yeo-johnson"`` uses the Yeo-Johnson bends alone (the
        default before S_U; a little faster). ``None`` fits the mixtures on
        the standardised features as they are.
    prior_rows : float or "auto", default=0.0
        Pseudo-rows of the covariance prior, per component (see above); ``0``
        uses the fixed floor instead. ``"auto"`` chooses them per class by
        5-fold held-out likelihood of a single Gaussian shrunk toward the
        other classes' pooled covariance by each fraction in ``0, 0.001, ...,
        0.9`` (classes larger than ``selection_size`` judged on their
        selection subsample), then keeps them only if the chosen mixture,
        refitted on 80% of the selection rows, scores higher with them than
        without on the other 20%. A positive number uses that many
        pseudo-rows for every class.
    reg_covar : float or "auto", default="auto"
        Variance added to every covariance's diagonal, in units of each
        feature's variance. ``"auto"``: the floor ``c * (1 + n_features /
        n_k)`` with ``c`` cross-validated (above) when ``prior_rows=0``, and
        ``1e-6`` of each feature's variance (numerical safety) under the
        prior. A number ``r``: ``r * (1 + n_features /
        n_k)`` without the prior, ``r`` with it.
    floor_shape : {"auto", "diagonal", "pooled"}, default="auto"
        How the floor is spread over a full or tied covariance (diagonal and
        spherical ones take its variances only): on the diagonal, or like the
        pooled within-class correlation (above). ``"auto"``: pooled while the
        configuration is selected, then cross-validated with the multiplier
        when ``reg_covar="auto"`` (pooled when it is a number). Under the
        prior the floor is numerical only and diagonal.
    selection_size : int or None, default=10_000
        Rows per class on which the candidate configurations are compared;
        classes with more rows are subsampled for the comparison, and the
        winner is refitted, from the subsample's solution, on all their rows
        or on ``p / 0.02`` of them for a mixture of ``p`` parameters, whichever
        is fewer: about the rows at which the estimate's expected excess
        held-out loss (``p / 2m`` nats per row, the optimism AIC corrects for)
        falls under 0.01 nats. The floor's cross-validation uses the same
        subsample (and refits a class that has more rows on one of its
        folds only). ``None`` compares on all rows.
    n_init : int, default=1
        EM initialisations per candidate (at least 3 for a class with at most
        a third of the largest class's selection rows). Each start gets 5 EM
        iterations, and the one with the highest likelihood then is run to
        convergence (the "small EM" of Biernacki, Celeux & Govaert, 2003).
    max_iter : int, default=100
        EM iterations per fit.
    tol : float, default=1e-3
        EM convergence threshold on the lower bound.
    random_state : int, RandomState instance or None, default=None
        Seed for initialisation, subsampling and threshold folds.
    n_jobs : int or None, default=None
        Parallel jobs over all (class, candidate) fits (joblib semantics;
        ``-1`` uses every core). The fits go through joblib's active backend,
        so they can run on a Dask cluster::

            from dask.distributed import Client
            import joblib

            client = Client("tcp://scheduler:8786")
            with joblib.parallel_config(backend="dask"):
                model.fit(X, y)

        Unless a backend is set that way, the fits run on threads (numpy
        and BLAS release the GIL, and threads start at once where worker
        processes take seconds): the fits on many values run side by side,
        those on few (fewer than 2**15, bound by the interpreter, which
        holds the GIL) one at a time by themselves; BLAS is kept to one
        thread per fit while they run; the large classes' final fits and
        the feature transform spread their blocks of rows over the threads.
        With ``n_jobs=None`` BLAS uses its own thread count. The fitted
        model does not depend on ``n_jobs`` or the backend.
    verbose : int, default=0
        Show a tqdm progress bar over the fits when positive (left on screen
        when > 1). Progress of every fit is also logged at INFO level on the
        ``gmm_hub.model._selection`` logger.
    scoring_dtype : {"float64", "float32"}, default="float64"
        Precision of prediction (fitting is always float64). ``"float64"``
        agrees with ``GaussianMixture.score_samples`` to about 1e-15
        relative. ``"float32"`` projects in single precision (rows centred in
        float64 first): faster, each whitened residual within ``(d + 3)``
        units of float32 rounding of the sum of its terms' magnitudes (a
        bound the tests check on ill-conditioned mixtures), which on
        standardised features keeps joint log-likelihoods within 1e-5
        relative and posteriors within 1e-4 of float64 (tested; see the
        README for the measured figures). Rows that overflow are rescored in
        float64. It only
        affects prediction, so it can be set on a fitted or loaded model with
        ``set_params``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    gmms_ : list of GaussianMixture
        The fitted mixture of each class, aligned with ``classes_``, in the
        input units, or, when features are transformed, in the units of the
        transformed features (``yeo_johnson((X - power_center_) /
        power_scale_)``); :meth:`class_log_likelihood` gives densities of
        ``X`` itself either way.
    power_lambdas_ : ndarray of shape (n_features_in_,) or None
        Yeo-Johnson parameter of each feature (``1.0``: left as it is);
        ``None`` when no feature is transformed.
    asinh_params_ : ndarray of shape (n_features_in_, 2) or None
        ``(shift, spread)`` of each feature's S_U transform, applied after
        the Yeo-Johnson bends to the standardised feature (NaN: not
        applied); ``None`` when no feature takes it (always with
        ``feature_transform="yeo-johnson"``).
    power_center_, power_scale_ : ndarray of shape (n_features_in_,)
        Standardisation applied before the transform (set only when
        ``power_lambdas_`` is not None).
    class_prior_ : ndarray of shape (n_classes,)
        Prior probability of each class.
    class_counts_ : ndarray of shape (n_classes,)
        Training rows of each class.
    n_components_ : list of int
        Components chosen for each class.
    covariance_types_ : list of str
        Covariance type chosen for each class. A ``"spherical"`` covariance is
        spherical in standardised units, so its mixture in ``gmms_`` (input
        units) is stored as ``"diag"``.
    prior_rows_ : ndarray of shape (n_classes,)
        Pseudo-rows of each class's covariance prior (see ``prior_rows``).
    variance_floor_ : ndarray of shape (n_classes, n_features_in_)
        Variance added to the diagonal of each class's covariances (a pooled
        floor adds the matching covariances off it, ``floor_shape``), in the
        units of ``gmms_`` (see ``reg_covar``; under the prior it includes each feature's
        dequantisation variance ``gap**2 / 12``).
    floor_scale_ : ndarray of shape (n_classes,)
        Each class's floor multiplier (``c`` above, as the folds chose it;
        ``variance_floor_`` has it scaled to the final fit's rows; under the
        prior, its numerical ``1e-6``).
    floor_shape_ : ndarray of shape (n_classes,)
        Each class's floor shape, ``"diagonal"`` or ``"pooled"``.
    floor_losses_ : ndarray of shape (11,) or None
        When the floor was cross-validated: the out-of-fold balanced
        Brier score of each multiplier and shape shared by all classes (the
        multipliers in the diagonal shape, then those above ``1e-6`` pooled;
        the multipliers alone when ``floor_shape`` is fixed). The per-class
        choice is at least as good as the best of them.
    n_iter_ : ndarray of shape (n_classes,)
        EM iterations of each class's final fit.
    converged_ : ndarray of shape (n_classes,)
        Whether each class's final fit converged.
    fit_seconds_ : dict
        Where the fit's time went: ``"transform"`` (standardising and
        estimating the feature transforms), ``"prior"`` (choosing each class's prior
        strength), ``"selection"`` (comparing candidates), ``"floor"``
        (cross-validating the floor), ``"refit"`` (refitting the winners of
        subsampled classes, and of classes whose floor changed, once) and
        ``"threshold"``.
    threshold_ : float or None
        Decision threshold on the posterior of ``classes_[1]`` (binary
        problems); ``None`` for multiclass problems.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when fitted on a DataFrame with string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from gmm_hub import GMMClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), GMMClassifier(random_state=0)).fit(X, y)
    >>> model.predict(X[:3])
    array([0, 0, 0])
    """

    # Models saved before ``verbose``, ``scoring_dtype``, ``prior_rows`` (and the later parameters) existed
    # load without the attributes; these defaults keep their get_params() and
    # repr() working (their fitted mixtures, and so their predictions, are kept).
    verbose = 0
    scoring_dtype = "float64"
    prior_rows: float | str = 0.0
    feature_transform: str | None = None
    floor_shape = "diagonal"

    def __init__(
        self,
        n_components: int | str = "bic",
        *,
        max_components: int = 5,
        covariance_type: str = "auto",
        priors: str | Any = "balanced",
        threshold: float | str = 0.5,
        cv: int = 5,
        prior_rows: float | str = 0.0,
        feature_transform: str | None = "auto",
        reg_covar: float | str = "auto",
        floor_shape: str = "auto",
        selection_size: int | None = 10_000,
        n_init: int = 1,
        max_iter: int = 100,
        tol: float = 1e-3,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
        verbose: int = 0,
        scoring_dtype: str = "float64",
    ) -> None:
        self.n_components = n_components
        self.max_components = max_components
        self.covariance_type = covariance_type
        self.priors = priors
        self.threshold = threshold
        self.cv = cv
        self.prior_rows = prior_rows
        self.feature_transform = feature_transform
        self.reg_covar = reg_covar
        self.floor_shape = floor_shape
        self.selection_size = selection_size
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.scoring_dtype = scoring_dtype

    # ------------------------------------------------------------------ fit

    def fit(self, X: Any, y: Any) -> GMMClassifier:
        """Fit one Gaussian mixture per class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training data without missing values.
        y : array-like of shape (n_samples,)
            Class labels; at least two classes.

        Returns
        -------
        self : GMMClassifier
            The fitted classifier.
        """
        self._check_params()
        X, y = _numeric(lambda: validate_data(self, X, y, dtype=np.float64))
        check_classification_targets(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise InvalidInputError(
                f"GMMClassifier needs at least 2 classes in y but got 1 class "
                f"({self.classes_[0]!r}); a classifier cannot learn from one class."
            )
        self.class_counts_ = np.bincount(y_index)
        self.class_prior_ = self._resolve_priors()
        rng = check_random_state(self.random_state)
        start = time.perf_counter()
        # one copy of the data, then in place: a fresh array of the whole data costs its page faults every time
        Z, center, scale = standardise(X)
        sample = self._class_sample(y_index, rng)
        self.power_lambdas_, self.asinh_params_ = self._power_lambdas(Z, sample)
        if self.power_lambdas_ is not None:
            # the mixtures live in the transformed units: standardise those in turn
            self.power_center_, self.power_scale_ = center, scale
            Z = yeo_johnson(Z, self.power_lambdas_, copy=False, threads=fit_threads(self.n_jobs))
            Z = asinh_bend(Z, self.asinh_params_)
            Z, center, scale = standardise(Z, copy=False)
        timings = {"transform": time.perf_counter() - start}
        start = time.perf_counter()
        fixed, self.floor_losses_ = self._floor_scale(), None
        rows = np.concatenate(sample)
        spread = self.prior_rows == 0 and self.floor_shape != "diagonal"
        correlation = pooled_correlation(Z[rows], y_index[rows], len(self.classes_)) if spread else None
        self.floor_scale_ = np.full(len(self.classes_), FLOOR_START if fixed is None else fixed)
        self.floor_shape_ = np.full(len(self.classes_), self._start_shape())
        priors_of = functools.partial(self._covariance_priors, Z, y_index, rng, correlation=correlation)
        priors = priors_of(FLOOR_START, shapes=self.floor_shape_)
        timings["prior"] = time.perf_counter() - start

        def cross_validate_floor(mixtures: list, fit_rows: np.ndarray) -> list | None:
            # reg_covar="auto" without the prior: each class's floor, from the selected configurations
            scales, shapes, self.floor_losses_, chosen_at = cross_validated_floor(
                Z,
                y_index,
                mixtures,
                lambda scale, counts, shape: priors_of(scale, counts, shapes=shape),
                np.log(self.class_prior_),
                self.selection_size,
                rng,
                self.n_jobs,
                shapes=FLOOR_SHAPES if self.floor_shape == "auto" else (self.floor_shape,),
            )
            keep = fading(chosen_at, fit_rows, Z, y_index, self.selection_size)
            changed = (scales != FLOOR_START) | (shapes != self.floor_shape_) | (keep != 1).any(axis=1)
            self.floor_scale_, self.floor_shape_ = scales, shapes
            if not changed.any():
                return None
            revised = priors_of(scales, keep=keep, shapes=shapes)
            return [revised[k] if changed[k] else priors[k] for k in range(len(priors))]

        mixtures = self._fit_mixtures(Z, y_index, rng, priors, timings, cross_validate_floor if fixed is None else None)
        self.gmms_ = [to_input_units(g, center, scale) for g in mixtures]
        priors = [g.prior for g in mixtures]  # a prior that did not help a class's mixture is dropped
        self.prior_rows_ = np.array([p.rows for p in priors])
        self.variance_floor_ = np.array([p.floor for p in priors]) * scale**2
        self.n_components_ = [int(g.n_components) for g in mixtures]
        self.covariance_types_ = [str(g.covariance_type) for g in mixtures]
        self.n_iter_ = np.array([g.n_iter_ for g in mixtures])
        self.converged_ = np.array([g.converged_ for g in mixtures])
        start = time.perf_counter()
        self.threshold_ = self._resolve_threshold(Z, y_index, rng, mixtures, priors)
        self.fit_seconds_ = {**timings, "threshold": time.perf_counter() - start}
        return self

    def _class_sample(self, y_index: np.ndarray, rng) -> list[np.ndarray]:
        """Each class's rows, subsampled to ``selection_size`` where it has more (sorted)."""
        size, picks = self.selection_size, []
        for k in range(len(self.classes_)):
            idx = np.flatnonzero(y_index == k)
            big = size is not None and len(idx) > size
            picks.append(np.sort(rng.choice(idx, size=size, replace=False)) if big else idx)
        return picks

    def _power_lambdas(self, Z: np.ndarray, sample: list[np.ndarray]) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Each feature's Yeo-Johnson parameter and S_U parameters, None when no feature is transformed.

        The parameter maximises the mean over classes of each class's Gaussian
        log-likelihood per row: the mixtures model each class, so the
        transform should make each class, not the pooled data, Gaussian, and
        a rare class weighs as much as the majority. One parameter per feature
        is estimated well from a few thousand rows (:func:`shape_rows`), so
        each class's rows are at most that many of ``sample[k]``, evenly
        spaced.
        """
        if self.feature_transform is None:
            return None, None
        size = shape_rows(Z.shape[1])
        sample = [evenly_spaced(rows, size) for rows in sample]
        rows = np.concatenate(sample)
        groups = np.split(np.arange(len(rows)), np.cumsum([len(p) for p in sample])[:-1])
        Zs = Z[rows]
        lambdas = fit_lambdas(Zs, groups)
        asinh = fit_asinh(Zs, lambdas, groups) if self.feature_transform == "auto" else None
        # each feature's bend from its marginal, kept if the classes also get more Gaussian jointly
        lambdas, asinh = joint_transform(Zs, lambdas, asinh, groups)
        return (None, None) if np.all(lambdas == 1.0) and asinh is None else (lambdas, asinh)

    def _to_model_units(self, X: np.ndarray) -> np.ndarray:
        """Input rows in the units of ``gmms_`` (the identity unless features are transformed)."""
        transform = power_transform(self)
        return X if transform is None else transform(X)

    def _floor_scale(self) -> float | None:
        """The floor multiplier of ``reg_covar`` (None: to be cross-validated)."""
        if self.reg_covar != "auto":
            return float(self.reg_covar)
        return 1e-6 if self.prior_rows != 0 else None

    def _start_shape(self) -> str:
        """The floor's shape for selecting the configuration (and the final one unless cross-validated)."""
        if self.prior_rows != 0:
            return "diagonal"  # under the prior the floor is numerical only
        return SHAPE_START if self.floor_shape == "auto" else self.floor_shape

    def _covariance_priors(
        self,
        Z: np.ndarray,
        y_index: np.ndarray,
        rng,
        floor_scale: float | np.ndarray,
        counts: np.ndarray | None = None,
        keep: np.ndarray | None = None,
        shapes: str | np.ndarray = "diagonal",
        correlation: np.ndarray | None = None,
    ) -> list[CovariancePrior]:
        """Each class's prior (standardised units); ``keep`` scales each class's floor per feature.

        A class whose floor shape is ``"pooled"`` spreads its floor like
        ``correlation`` (the pooled within-class correlation).

        Centring class ``k``'s prior on the classes other than ``k`` keeps the
        held-out choice of its strength informative: a large class's own
        covariance would dominate a pooled target, and every strength would
        then look alike.
        """
        d = Z.shape[1]
        adaptive = self.prior_rows != 0
        fixed = self._floor_scale()
        reg = np.broadcast_to(floor_scale if fixed is None else fixed, len(self.classes_))
        if counts is None:
            counts = np.bincount(y_index, minlength=len(self.classes_))
        quantum = dequantisation_floor(Z) if adaptive else None
        shapes = np.broadcast_to(shapes, len(self.classes_))
        priors = []
        for k in range(len(self.classes_)):
            # the fixed floor is a prior of n_features pseudo-rows; under the MAP prior it is numerical only
            floor = reg[k] + quantum if quantum is not None else class_floor(reg[k], d, counts[k])
            if keep is not None:
                floor = floor * keep[k]
            if not adaptive:  # a prior of no rows: its target is never used
                shape = correlation if shapes[k] == "pooled" else None
                priors.append(CovariancePrior(target=np.zeros((d, d)), rows=0.0, floor=floor, shape=shape))
                continue
            others = y_index != k
            target = pooled_covariance(Z[others], y_index[others], len(self.classes_))
            if self.prior_rows != "auto":
                rows = float(self.prior_rows)
            else:
                idx = np.flatnonzero(~others)
                size = self.selection_size
                if size is not None and len(idx) > size:
                    idx = np.sort(rng.choice(idx, size=size, replace=False))
                rows = held_out_prior_rows(Z[idx], target, floor, rng)
            priors.append(CovariancePrior(target=target, rows=rows, floor=floor))
        return priors

    def _fit_mixtures(self, X, y_index, rng, priors, timings, revise_priors=None):
        return fit_class_mixtures(
            X,
            y_index,
            self.classes_,
            n_components=self.n_components,
            max_components=self.max_components,
            covariance_type=self.covariance_type,
            selection_size=self.selection_size,
            gmm_params={
                "n_init": self.n_init,
                "max_iter": self.max_iter,
                "tol": self.tol,
            },
            rng=rng,
            n_jobs=self.n_jobs,
            priors=priors,
            verbose=self.verbose,
            timings=timings,
            revise_priors=revise_priors,
        )

    def _check_params(self) -> None:
        def bad(name: str, expected: str) -> InvalidInputError:
            return InvalidInputError(f"GMMClassifier parameter {name} must be {expected}, got {getattr(self, name)!r}.")

        n = self.n_components
        if not (n == "bic" or (_is_int(n) and n >= 1)):
            raise bad("n_components", 'a positive int or "bic"')
        if not (_is_int(self.max_components) and self.max_components >= 1):
            raise bad("max_components", "a positive int")
        if self.covariance_type not in (*COVARIANCE_TYPES, "auto"):
            raise bad("covariance_type", f"one of {[*COVARIANCE_TYPES, 'auto']}")
        t = self.threshold
        if not (t in TUNING_METRICS or (_is_real(t) and 0.0 < t < 1.0)):
            raise bad("threshold", f"a float in (0, 1) or one of {list(TUNING_METRICS)}")
        if not (_is_int(self.cv) and self.cv >= 2):
            raise bad("cv", "an int >= 2")
        p = self.prior_rows
        if not (p == "auto" or (_is_real(p) and p >= 0 and np.isfinite(p))):
            raise bad("prior_rows", 'a non-negative float or "auto"')
        if self.feature_transform not in ("yeo-johnson", "auto", None):
            raise bad("feature_transform", '"yeo-johnson", "auto" or None')
        r = self.reg_covar
        if not (r == "auto" or (_is_real(r) and r >= 0 and np.isfinite(r))):
            raise bad("reg_covar", 'a non-negative float or "auto"')
        if not (isinstance(self.floor_shape, str) and self.floor_shape in ("auto", *FLOOR_SHAPES)):
            raise bad("floor_shape", f"one of {['auto', *FLOOR_SHAPES]}")
        s = self.selection_size
        if not (s is None or (_is_int(s) and s >= 2)):
            raise bad("selection_size", "an int >= 2 or None")
        for name in ("n_init", "max_iter"):
            if not (_is_int(getattr(self, name)) and getattr(self, name) >= 1):
                raise bad(name, "a positive int")
        if not (_is_real(self.tol) and self.tol >= 0):
            raise bad("tol", "a non-negative float")
        if isinstance(self.priors, str) and self.priors not in ("balanced", "empirical"):
            raise bad("priors", '"balanced", "empirical" or an array of class priors')

    def _resolve_priors(self) -> np.ndarray:
        n_classes = len(self.classes_)
        if isinstance(self.priors, str):
            if self.priors == "balanced":
                return np.full(n_classes, 1.0 / n_classes)
            return self.class_counts_ / self.class_counts_.sum()
        priors = np.asarray(self.priors, dtype=np.float64)
        if priors.shape != (n_classes,):
            raise InvalidInputError(
                f"priors must have one value per class ({n_classes}: "
                f"{self.classes_.tolist()}), got shape {priors.shape}."
            )
        if np.any(priors <= 0) or not np.isclose(priors.sum(), 1.0):
            raise InvalidInputError(
                f"priors must be positive and sum to 1, got {priors.tolist()} (sum {priors.sum():.6g})."
            )
        return priors

    def _resolve_threshold(self, Z, y_index, rng, mixtures, priors) -> float | None:
        if len(self.classes_) != 2:
            if self.threshold != 0.5:
                warnings.warn(
                    f"threshold={self.threshold!r} applies to binary problems only; "
                    f"y has {len(self.classes_)} classes, so the most probable class "
                    "is predicted.",
                    UserWarning,
                    stacklevel=3,
                )
            return None
        if self.threshold not in TUNING_METRICS:
            return float(self.threshold)
        smallest = int(self.class_counts_.min())
        if smallest < _MIN_ROWS_TO_TUNE:
            label = self.classes_[np.argmin(self.class_counts_)]
            label = label.item() if isinstance(label, np.generic) else label
            warnings.warn(
                f"Cannot tune the threshold: class {label!r} has {smallest} row(s); "
                f"out-of-fold scores need at least {_MIN_ROWS_TO_TUNE} rows of every "
                "class (each fold's model must see 2). Using threshold 0.5.",
                UserWarning,
                stacklevel=3,
            )
            return 0.5
        folds = min(self.cv, smallest)
        scores, tests = self._out_of_fold_scores(Z, y_index, folds, rng, mixtures, priors)
        proba = expit(scores)
        return cross_validated_threshold([(proba[t], y_index[t] == 1) for t in tests], self.threshold)

    def _out_of_fold_scores(self, Z, y_index, folds, rng, mixtures, priors) -> tuple[np.ndarray, list]:
        """Log-odds of each row from mixtures that did not see it, and each fold's rows.

        Each fold keeps the configuration chosen on all the data and refits
        only the mixture parameters (with the same prior), so tuning costs
        ``folds`` fits per class rather than a whole new search.
        """
        scores = np.empty(len(y_index))
        splitter = StratifiedKFold(folds, shuffle=True, random_state=rng.randint(2**31 - 1))
        tests = []
        for train, test in splitter.split(Z, y_index):
            tests.append(test)
            log_lik = []
            for i, gmm in enumerate(mixtures):
                rows = train[y_index[train] == i]
                fold_gmm = clone(gmm).set_params(n_components=min(gmm.n_components, len(rows)))
                fold_gmm.prior = priors[i]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the final fit reports its own
                    fold_gmm.fit(at_least_two_rows(Z[rows]))
                log_lik.append(fold_gmm.score_samples(Z[test]))
            prior_log = np.log(self.class_prior_)
            scores[test] = (log_lik[1] + prior_log[1]) - (log_lik[0] + prior_log[0])
        return scores, tests

    # -------------------------------------------------------------- predict

    def _validated(self, X: Any) -> np.ndarray:
        """``X`` as finite float64 of the fitted shape, or a clear error."""
        check_is_fitted(self)
        X = _numeric(lambda: validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite=False))
        check_finite(X, getattr(self, "feature_names_in_", None))
        return X

    def _scorer(self, X: Any):
        """Validated float64 ``X`` and the cached fused scorer (see ``_scoring``)."""
        X = self._validated(X)
        return fused_scorer(self, self.scoring_dtype), X  # the scorer transforms features a block at a time

    def class_log_likelihood(self, X: Any) -> np.ndarray:
        """Log density of each row under each class's model, in the input units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            ``log p(x | class)``, columns in the order of ``classes_``. When
            features are transformed, the log-determinant of the transform's
            Jacobian is included, so these are densities of ``X`` itself and
            can be compared with any other density model of the same data.
        """
        X = self._validated(X)
        lambdas = getattr(self, "power_lambdas_", None)
        if lambdas is None:
            return np.column_stack([g.score_samples(X) for g in self.gmms_])
        Z = (X - self.power_center_) / self.power_scale_
        asinh = getattr(self, "asinh_params_", None)  # absent from the bundles of earlier releases
        U = asinh_bend(yeo_johnson(Z, lambdas), asinh)
        jacobian = log_jacobian(Z, lambdas) + asinh_log_jacobian(Z, asinh) - np.log(self.power_scale_).sum()
        return np.column_stack([g.score_samples(U) + jacobian for g in self.gmms_])

    def _joint_log_likelihood(self, X: Any) -> np.ndarray:
        """log p(x | class) + log prior, shape (n_samples, n_classes), in blocks.

        Rows whose likelihood underflows for every class are shifted by a
        per-row constant (posteriors and log-odds are unchanged).
        """
        scorer, X = self._scorer(X)
        return scorer.joint_log_likelihood(X)

    def _log_posterior(self, scorer, X: np.ndarray) -> np.ndarray:
        out = np.empty((X.shape[0], len(self.classes_)))
        for rows, jll in scorer.blocks(X):  # normalised a block at a time, while in cache
            out[rows] = _log_normalise(jll)
        return out

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log posterior probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        scorer, X = self._scorer(X)
        return self._log_posterior(scorer, X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.
        """
        scorer, X = self._scorer(X)
        out = np.empty((X.shape[0], len(self.classes_)))
        for rows, jll in scorer.blocks(X):
            out[rows] = np.exp(_log_normalise(jll))
        return out

    def decision_function(self, X: Any) -> np.ndarray:
        """Confidence scores whose sign or argmax gives the prediction.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            Binary: log-odds of ``classes_[1]`` minus ``logit(threshold_)``, so
            a positive value predicts ``classes_[1]`` (``inf`` or ``-inf``
            when one class's posterior is exactly 0 in floating point, e.g.
            far from both classes). Multiclass: the log posterior of each
            class.

        Raises
        ------
        InvalidInputError
            If ``X`` holds NaN or infinity (the message names the rows and
            columns). Every finite input gets finite probabilities.
        """
        scorer, X = self._scorer(X)
        if len(self.classes_) != 2:
            return self._log_posterior(scorer, X)
        out = np.empty(X.shape[0])
        for rows, jll in scorer.blocks(X):
            out[rows] = jll[:, 1] - jll[:, 0] - logit(self.threshold_)
        return out

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        ndarray of shape (n_samples,)
            Predicted labels.
        """
        scorer, X = self._scorer(X)
        index = np.empty(X.shape[0], dtype=np.intp)
        for rows, jll in scorer.blocks(X):  # one block at a time: no (n, n_classes) array
            if len(self.classes_) == 2:
                index[rows] = jll[:, 1] - jll[:, 0] - logit(self.threshold_) > 0
            else:
                index[rows] = np.argmax(jll, axis=1)
        return self.classes_[index]


def _is_int(value: Any) -> TypeGuard[int]:
    # numpy integers pass too; typed as int, which they stand in for
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> TypeGuard[float]:
    # numpy floats and integers pass too; typed as float, which they stand in for
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _log_normalise(jll: np.ndarray) -> np.ndarray:
    """Turn joint log-likelihoods into log posteriors, in place, a block at a time.

    The log-sum-exp is written out: scipy's ``logsumexp`` costs about 1 ms per
    call, as much as scoring a block. Every row has a finite maximum (the
    fused scorer rescales rows that underflow), so shifting by it is safe.
    """
    step = max(1024, _CHUNK_BYTES // (64 * jll.shape[1]))
    for start in range(0, jll.shape[0], step):
        block = jll[start : start + step]
        block -= block.max(axis=1, keepdims=True)
        block -= np.log(np.exp(block).sum(axis=1, keepdims=True))
    return jll


def _numeric(convert):
    """Run a validation call, adding what to do when data is not numeric."""
    try:
        return convert()
    except ValueError as err:
        if "could not convert" in str(err) or "convert string" in str(err):
            raise InvalidInputError(
                f"{err}. GMMClassifier needs numeric features; for tables with text "
                "or categorical columns use gmm_hub.tabular_pipeline(), which one-hot "
                "encodes them."
            ) from err
        raise
