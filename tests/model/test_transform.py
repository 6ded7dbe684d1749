"""The per-feature Yeo-Johnson transform and the classifier's use of it."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats
from scipy.integrate import trapezoid

from gmm_hub import GMMClassifier
from gmm_hub.model import _transform
from gmm_hub.model._transform import fit_lambdas, joint_transform, log_jacobian, yeo_johnson

RND_SEED = 0


@given(lam=st.sampled_from([-1.5, 0.0, 0.3, 1.0, 2.0, 2.7]), seed=st.integers(0, 2**16))
@settings(max_examples=30, deadline=None)
def test_yeo_johnson_matches_scipy_including_the_log_limits(lam, seed):
    z = np.random.default_rng(seed).normal(scale=3, size=200)
    ours = yeo_johnson(z[:, None], np.array([lam]))[:, 0]
    np.testing.assert_allclose(ours, stats.yeojohnson(z, lam), rtol=1e-10, atol=1e-12)


def test_yeo_johnson_of_many_columns_matches_scipy_across_blocks():
    rng = np.random.default_rng(RND_SEED)
    lambdas = np.array([-1.5, 1.0, 0.0, 0.3, 2.0, 2.7, 1.0, 0.9])
    Z = rng.standard_cauchy(size=(_transform._BLOCK_VALUES // 3, len(lambdas)))  # several blocks, one partial
    Z[:5] = np.array([0.0, -0.0, 1e-300, -1e-300, 1e300])[:, None]
    ours = yeo_johnson(Z, lambdas)
    with np.errstate(over="ignore"):  # scipy's reference overflows on 1e300 as ours does before its clip
        want = np.column_stack([stats.yeojohnson(Z[:, j], lam) for j, lam in enumerate(lambdas)])
    want = np.clip(want, -1e100, 1e100)
    # exp/log lose about eps / p absolutely near 0 (see _signed_bend); the powers near 0 stay exact
    np.testing.assert_allclose(ours, want, rtol=1e-12, atol=1e-15)
    exact = (lambdas == 0.0) | (lambdas == 2.0)
    np.testing.assert_allclose(ours[:, exact], want[:, exact], rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(ours[:, lambdas == 1.0], np.clip(Z[:, lambdas == 1.0], -1e100, 1e100))


@pytest.mark.parametrize("rows", [1, 7, _transform._BLOCK_VALUES // 8 + 3, 3 * _transform._BLOCK_VALUES // 4 + 1])
@pytest.mark.parametrize("lambdas", [[0.3, 1.0, 2.0, 0.0], [0.5, 1.5, 0.9, 1.2]], ids=["some columns", "every column"])
def test_yeo_johnson_on_threads_is_bit_for_bit_the_one_thread_result(rows, lambdas):
    Z = np.random.default_rng(rows).standard_cauchy(size=(rows, 4))
    one = yeo_johnson(Z, np.array(lambdas))
    for threads in (2, 3, 64):  # 64: more threads than blocks of rows
        np.testing.assert_array_equal(yeo_johnson(Z, np.array(lambdas), threads=threads), one)
    inplace = Z.copy()
    assert yeo_johnson(inplace, np.array(lambdas), copy=False, threads=2) is inplace
    np.testing.assert_array_equal(inplace, one)


@given(
    shape=st.sampled_from(["normal", "lognormal", "negative", "positive", "cauchy", "uniform"]),
    n=st.integers(5, 400),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=40, deadline=None)
def test_fit_lambdas_finds_scipys_maximum_likelihood_parameter_within_zero_to_two(shape, n, seed):
    rng = np.random.default_rng(seed)
    z = {
        "normal": lambda: rng.normal(size=n),
        "lognormal": lambda: rng.lognormal(sigma=1.5, size=n),
        "negative": lambda: -rng.exponential(size=n),
        "positive": lambda: rng.exponential(size=n),
        "cauchy": lambda: rng.standard_cauchy(size=n),
        "uniform": lambda: rng.uniform(-1, 3, size=n),
    }[shape]()
    ours = fit_lambdas(z[:, None])[0]
    assert 0.0 <= ours <= 2.0
    # if the log-likelihood is unimodal in lam (this comparison checks it), the best lam in [0, 2] is scipy's, clipped
    want = float(np.clip(stats.yeojohnson_normmax(z), 0.0, 2.0))
    # both stop within the search's tolerance (1.48e-8) of the maximum; compare the likelihoods there
    assert abs(ours - want) < 1e-5 or stats.yeojohnson_llf(ours, z) >= stats.yeojohnson_llf(want, z) - 1e-9 * n


@given(n=st.integers(5, 300), seed=st.integers(0, 2**16), minority=st.floats(0.02, 0.5))
@settings(max_examples=30, deadline=None)
def test_grouped_lambda_maximises_the_mean_of_the_groups_log_likelihoods(n, seed, minority):
    rng = np.random.default_rng(seed)
    small = max(2, int(n * minority))
    z = np.r_[rng.lognormal(sigma=1.0, size=n), -rng.exponential(size=small) * 3]
    groups = [np.arange(n), np.arange(n, n + small)]
    ours = fit_lambdas(z[:, None], groups)[0]

    def criterion(lam: float) -> float:
        return float(np.mean([stats.yeojohnson_llf(lam, z[g]) / len(g) for g in groups]))

    # the best of a grid, then refined within its neighbouring cells (the criterion is smooth in lam)
    grid = np.linspace(0.0, 2.0, 41)
    i = int(np.argmax([criterion(lam) for lam in grid]))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    refined = optimize.minimize_scalar(lambda lam: -criterion(lam), bounds=(lo, hi), method="bounded").x
    assert 0.0 <= ours <= 2.0
    assert criterion(ours) >= max(criterion(grid[i]), criterion(refined)) - 1e-7


@pytest.mark.parametrize("lam", [-0.8, 0.0, 0.5, 1.7, 2.0])
def test_log_jacobian_is_the_log_derivative(lam):
    z = np.linspace(-4, 4, 81)
    h = 1e-6
    lambdas = np.array([lam])
    numeric = (yeo_johnson((z + h)[:, None], lambdas) - yeo_johnson((z - h)[:, None], lambdas))[:, 0] / (2 * h)
    np.testing.assert_allclose(log_jacobian(z[:, None], lambdas), np.log(numeric), atol=1e-6)


def test_fit_lambdas_leaves_binary_and_point_mass_features_alone_and_bends_skewed_ones():
    rng = np.random.default_rng(RND_SEED)
    n = 2000
    binary = (rng.random(n) < 0.1).astype(float)
    point_mass = np.where(rng.random(n) < 0.6, 0.0, rng.exponential(size=n))
    skewed = rng.lognormal(sigma=1.0, size=n)
    Z = np.column_stack([binary, point_mass, skewed])
    Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    lambdas = fit_lambdas(Z)
    assert lambdas[0] == 1.0 and lambdas[1] == 1.0
    assert lambdas[2] < 0.8  # a right tail is pulled in
    assert abs(stats.skew(yeo_johnson(Z, lambdas)[:, 2])) < 0.5 * abs(stats.skew(Z[:, 2]))


def test_grouped_lambda_gives_each_class_the_same_say_whatever_its_size():
    rng = np.random.default_rng(RND_SEED)
    majority, minority = rng.normal(size=3000), 1 + rng.lognormal(sigma=1.0, size=60)
    z = np.r_[majority, minority]
    z = (z - z.mean()) / z.std()
    groups = [np.arange(3000), np.arange(3000, 3060)]
    grouped = fit_lambdas(z[:, None], groups)[0]
    # replicating the majority's rows leaves each class's per-row likelihood, and so the parameter, as it was
    tripled = np.r_[np.tile(z[:3000], 3), z[3000:]]
    again = fit_lambdas(tripled[:, None], [np.arange(9000), np.arange(9000, 9060)])[0]
    assert again == pytest.approx(grouped, abs=1e-6)
    # the pooled parameter follows the majority (nearly Gaussian: close to 1); the grouped one bends for the minority
    pooled = fit_lambdas(z[:, None])[0]
    assert abs(pooled - 1.0) < abs(grouped - 1.0) - 0.1


def test_grouped_lambda_without_a_class_of_two_rows_is_the_identity():
    z = np.array([[-1.0], [0.5], [3.0]])
    assert fit_lambdas(z, [np.array([0]), np.array([1]), np.array([2])])[0] == 1.0


def test_classifier_fits_the_transform_on_its_classes():
    rng = np.random.default_rng(RND_SEED)
    X = np.column_stack([np.r_[rng.normal(size=800), 2 + rng.lognormal(size=80)], rng.lognormal(size=880)])
    y = np.r_[np.zeros(800, int), np.ones(80, int)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GMMClassifier(feature_transform="yeo-johnson", random_state=RND_SEED).fit(X, y)
    Z = (X - model.power_center_) / model.power_scale_
    want = fit_lambdas(Z, [np.flatnonzero(y == 0), np.flatnonzero(y == 1)])
    np.testing.assert_allclose(model.power_lambdas_, want, rtol=1e-12)


@pytest.mark.parametrize("n_features", [1, 5, 30, 41, 200])
def test_shape_rows_keep_the_estimates_expected_excess_loss_within_its_budget(n_features):
    rows = _transform.shape_rows(n_features)
    assert rows >= _transform.ASINH_ROWS  # never fewer rows than S_U's two parameters get
    # p / (2 m) nats per row for p = n_features parameters estimated from m rows (Akaike's optimism)
    assert n_features / (2 * rows) <= _transform.SHAPE_EXCESS_NATS
    assert rows == _transform.ASINH_ROWS or n_features / (2 * (rows - 1)) > _transform.SHAPE_EXCESS_NATS


def test_a_large_class_bends_from_evenly_spaced_shape_rows_and_lands_near_the_full_estimate(monkeypatch):
    from gmm_hub.model import _classifier

    seen = []
    spy = functools.partial(lambda fit, Z, groups: seen.append([len(g) for g in groups]) or fit(Z, groups), fit_lambdas)
    monkeypatch.setattr(_classifier, "fit_lambdas", spy)
    rng = np.random.default_rng(RND_SEED)
    n = 30_000  # a majority larger than shape_rows(2) (and than selection_size)
    X = np.column_stack([rng.lognormal(sigma=0.5, size=n + 300), rng.gamma(2.0, size=n + 300)])
    y = np.r_[np.zeros(n, int), np.ones(300, int)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GMMClassifier(feature_transform="yeo-johnson", random_state=RND_SEED).fit(X, y)
    assert seen == [[_transform.shape_rows(2), 300]]  # the majority's shape rows, the minority whole
    Z = (X - model.power_center_) / model.power_scale_
    full = fit_lambdas(Z, [np.flatnonzero(y == 0), np.flatnonzero(y == 1)])
    # the standard error of a Yeo-Johnson parameter from 2,000 rows is a few hundredths
    np.testing.assert_allclose(model.power_lambdas_, full, atol=0.05)
    assert not np.allclose(model.power_lambdas_, 1.0)  # both features are bent


def test_transformed_class_density_integrates_to_one_in_input_units():
    rng = np.random.default_rng(RND_SEED)
    x = np.r_[rng.lognormal(sigma=0.6, size=600), 3 + rng.lognormal(sigma=0.6, size=200)] * 1000
    y = np.r_[np.zeros(600, int), np.ones(200, int)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GMMClassifier(feature_transform="yeo-johnson", random_state=RND_SEED).fit(x[:, None], y)
    assert model.power_lambdas_ is not None and model.power_lambdas_[0] != 1.0
    grid = np.linspace(x.min() - 3000, x.max() + 20000, 400_001)
    density = np.exp(model.class_log_likelihood(grid[:, None]))
    np.testing.assert_allclose(trapezoid(density, grid, axis=0), [1.0, 1.0], atol=2e-3)


def test_untransformed_class_log_likelihood_is_the_mixtures_own():
    rng = np.random.default_rng(RND_SEED)
    X = rng.normal(size=(300, 3)) * [1, 10, 100]
    y = np.r_[np.zeros(250, int), np.ones(50, int)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GMMClassifier(feature_transform=None, random_state=RND_SEED).fit(X, y)
    assert model.power_lambdas_ is None
    expected = np.column_stack([g.score_samples(X) for g in model.gmms_])
    np.testing.assert_allclose(model.class_log_likelihood(X), expected, rtol=1e-12)


def test_extreme_finite_inputs_keep_finite_probabilities_under_the_transform():
    rng = np.random.default_rng(RND_SEED)
    X = rng.lognormal(size=(400, 2))
    y = np.r_[np.zeros(350, int), np.ones(50, int)]
    X[y == 1] += 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GMMClassifier(random_state=RND_SEED).fit(X, y)
    extreme = np.array([[1e300, 1e300], [-1e300, 1e300], [1e-300, -1e300], [0.0, 0.0]])
    proba = model.predict_proba(extreme)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_feature_transform_bad_value_is_refused():
    X = np.random.default_rng(RND_SEED).normal(size=(40, 2))
    y = np.r_[np.zeros(30, int), np.ones(10, int)]
    with pytest.raises(ValueError, match="feature_transform must be"):
        GMMClassifier(feature_transform="quantile").fit(X, y)


@settings(max_examples=60, deadline=None)
@given(
    lam=st.floats(-3.0, 5.0, allow_nan=False),
    seed=st.integers(0, 2**16),
    spread=st.sampled_from([1e-8, 1e-3, 1.0, 1e3]),
)
def test_fast_bend_stays_within_its_rounding_bound(lam, seed, spread):
    z = np.random.default_rng(seed).standard_normal((200, 1)) * spread
    lams = np.array([lam])
    fast, exact = _transform._signed_bend(z, lams), _transform._exact_bend(z, lams)
    power = np.where(z >= 0, lam, 2.0 - lam)
    if np.any(np.abs(power) < _transform._EXACT_POWER):
        np.testing.assert_array_equal(fast, exact)  # near the log limit: the exact path
        return
    logs = np.log1p(np.abs(z))
    eps = np.finfo(np.float64).eps
    # rounding 1 + |z| and exp(p L): about eps * (1 + p |v|) (1 + p L) / p, absolutely
    bound = 16 * eps * (1 + np.abs(power * exact)) * (1 + np.abs(power * logs)) / np.abs(power)
    assert np.all(np.abs(fast - exact) <= bound + 1e-13 * np.abs(exact))


def _shared_skewed_source(n: int, seed: int) -> np.ndarray:
    """Standardised features that each add one log-normal source to their own Gaussian noise.

    Every marginal is skewed, so each feature's own parameter bends it, but
    the features are linearly related through the source: bending them one
    by one breaks the relation.
    """
    rng = np.random.default_rng(seed)
    source = rng.lognormal(sigma=1.0, size=(n, 1))
    X = np.hstack([source, source + rng.normal(size=(n, 5))])
    return (X - X.mean(axis=0)) / X.std(axis=0)


@pytest.mark.parametrize("seed", range(4))
def test_joint_transform_leaves_unbent_features_whose_relation_bending_would_break(seed):
    Z = _shared_skewed_source(2000, seed)
    groups = [np.arange(len(Z))]
    marginal = fit_lambdas(Z, groups)
    assert np.all(np.abs(marginal - 1) > 0.5)  # each marginal on its own asks to be bent
    np.testing.assert_array_equal(joint_transform(Z, marginal, None, groups)[0], np.ones(Z.shape[1]))


def test_joint_transform_keeps_the_bends_of_independent_skewed_features():
    rng = np.random.default_rng(RND_SEED)
    X = np.column_stack([rng.lognormal(sigma=0.8, size=(1500, 3)), rng.normal(size=(1500, 2))])
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    groups = [np.arange(1000), np.arange(1000, 1500)]
    marginal = fit_lambdas(Z, groups)
    kept = joint_transform(Z, marginal, None, groups)[0]
    np.testing.assert_array_equal(kept, marginal)
    assert np.all(np.abs(kept[:3] - 1) > 0.5)  # the skewed ones bend


def test_joint_transform_criterion_is_the_joint_gaussian_log_likelihood_of_z():
    # one class, one feature: OAS leaves a 1 x 1 covariance as it is, so the criterion's gain from
    # bending is the Yeo-Johnson profile log-likelihood ratio that scipy computes
    rng = np.random.default_rng(RND_SEED)
    z = rng.lognormal(sigma=0.7, size=(800, 1))
    z = (z - z.mean()) / z.std()
    rows = [np.arange(len(z))]
    kept, worse = 0, 0
    for lam in [0.0, 0.2, 0.5, 0.8, 1.3, 1.7, 2.0]:  # the fitted one and ones worse than none at all
        gain = stats.yeojohnson_llf(lam, z[:, 0]) - stats.yeojohnson_llf(1.0, z[:, 0])
        keeps = joint_transform(z, np.array([lam]), None, rows)[0][0] == lam
        assert keeps == (gain > 0), lam
        kept, worse = kept + keeps, worse + (not keeps)
    assert kept and worse  # both directions were tried


def test_joint_transform_ignores_classes_too_small_or_constant_to_judge():
    rng = np.random.default_rng(RND_SEED)
    Z = np.vstack([rng.lognormal(size=(500, 2)), np.ones((3, 2))])
    Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    lam = fit_lambdas(Z, [np.arange(500)])
    groups = [np.arange(500), np.array([500]), np.array([501, 502])]  # one row; two identical rows
    np.testing.assert_array_equal(
        joint_transform(Z, lam, None, groups)[0], joint_transform(Z, lam, None, groups[:1])[0]
    )


def test_classifier_leaves_linearly_related_skewed_features_unbent():
    Z = _shared_skewed_source(1200, RND_SEED)
    y = np.r_[np.zeros(1000, int), np.ones(200, int)]
    Z[y == 1] += 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GMMClassifier(random_state=RND_SEED).fit(Z * [1e3, 1, 1e-3, 5, 1, 1], y)
    assert model.power_lambdas_ is None


@given(seed=st.integers(0, 2**16), mixed=st.booleans())
@settings(max_examples=15, deadline=None)
def test_joint_transform_does_not_depend_on_the_order_of_features_or_rows(seed, mixed):
    rng = np.random.default_rng(seed)
    Z = _shared_skewed_source(400, seed) if mixed else rng.lognormal(sigma=0.7, size=(400, 4))
    Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    groups = [np.arange(300), np.arange(300, 400)]
    lam = fit_lambdas(Z, groups)
    cols, rows = rng.permutation(Z.shape[1]), rng.permutation(len(Z))
    where = np.argsort(rows)  # each old row's new position
    moved = [np.sort(where[g]) for g in groups]
    want = joint_transform(Z, lam, None, groups)[0]
    np.testing.assert_array_equal(joint_transform(Z[rows][:, cols], lam[cols], None, moved)[0], want[cols])


# ------------------------------------------------------------ Johnson S_U (feature_transform="auto")


def _asinh_criterion(z: np.ndarray, groups: list[np.ndarray], shift: float, spread: float) -> float:
    """The class-averaged S_U log-likelihood per row, written out independently of the module."""
    total = 0.0
    for g in groups:
        t = (z[g] - shift) / spread
        total += -0.5 * np.log(np.var(np.arcsinh(t))) - np.log(spread) - 0.5 * np.mean(np.log1p(t * t))
    return total / len(groups)


@given(seed=st.integers(0, 2**16), tail=st.sampled_from(["cauchy", "t3", "lognormal", "skewed_t"]))
@settings(max_examples=12, deadline=None)
def test_fit_asinh_finds_the_maximum_of_the_class_averaged_likelihood(seed, tail):
    rng = np.random.default_rng(seed)
    draw = {
        "cauchy": lambda n: rng.standard_cauchy(n),
        "t3": lambda n: rng.standard_t(3, n),
        "lognormal": lambda n: rng.lognormal(sigma=1.5, size=n),
        "skewed_t": lambda n: rng.standard_t(2, n) + rng.exponential(3, n),
    }[tail]
    z = np.r_[draw(600), draw(60) + 2]
    z = (z - z.mean()) / z.std()
    groups = [np.arange(600), np.arange(600, 660)]
    (shift, spread), value = _transform._asinh_max([z[g] for g in groups])
    ours = _asinh_criterion(z, groups, shift, spread)
    assert ours == pytest.approx(value, abs=1e-9)  # the value it reports is the criterion's
    # no start of an independent search, within the same bounds, does better
    low, high = np.log(_transform.ASINH_SPREAD)
    for start in [(0.0, 0.0), (np.quantile(z, 0.05), -2.0), (np.quantile(z, 0.95), -2.0), (np.median(z), 2.0)]:
        other = optimize.minimize(
            lambda p: -_asinh_criterion(z, groups, p[0], np.exp(np.clip(p[1], low, high))),
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 4000},
        )
        assert ours >= -other.fun - 1e-6


@given(seed=st.integers(0, 2**16), outlier=st.sampled_from([1e2, 1e4, 1e6]), tight=st.sampled_from([1e-12, 1e-6, 1e-2]))
@settings(max_examples=12, deadline=None)
def test_asinh_criterion_is_the_arcsinh_formula_at_extreme_and_tiny_magnitudes(seed, outlier, tight):
    # the criterion takes asinh from the square root it shares with its derivative; check it against
    # np.arcsinh where that rewrite could lose precision: values packed within `tight` of zero (fits started
    # there, or elsewhere), far outliers on both sides
    rng = np.random.default_rng(seed)
    z = np.r_[rng.normal(0.0, tight, 300), rng.standard_cauchy(300), [outlier, -outlier]]
    groups = [np.arange(0, 602, 2), np.arange(1, 602, 2)]
    columns = [z[g] for g in groups]
    for shift, spread in [(0.0, 1e-3), (0.0, 1.0), (float(np.median(z)), 30.0), (1.0, 1e3)]:
        (found_shift, found_spread), value = _transform._asinh_max(columns, np.array([shift, spread]))
        assert _asinh_criterion(z, groups, found_shift, found_spread) == pytest.approx(value, rel=1e-12, abs=1e-9)


def test_fit_asinh_takes_heavy_tails_and_leaves_gaussian_and_discrete_features_to_yeo_johnson():
    rng = np.random.default_rng(RND_SEED)
    n = 3000
    X = np.column_stack(
        [
            rng.standard_cauchy(n),  # symmetric heavy tails: no power compresses both
            rng.lognormal(sigma=2.5, size=n),  # the bulk far from the mean
            rng.normal(size=n),  # Gaussian: nothing to gain
            rng.integers(0, 12, n).astype(float),  # discrete: a spread about one value would buy a spike
        ]
    )
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    groups = [np.arange(2500), np.arange(2500, n)]
    params = _transform.fit_asinh(Z, fit_lambdas(Z, groups), groups)
    assert params is not None
    taken = ~np.isnan(params[:, 0])
    assert taken[0] and taken[1] and not taken[3]
    assert np.all(params[:2, 1] >= _transform.ASINH_SPREAD[0]) and np.all(params[:2, 1] <= _transform.ASINH_SPREAD[1])
    if taken[2]:  # a Gaussian feature may take S_U only as a nearly straight line over its data
        t = (np.quantile(Z[:, 2], [0.005, 0.995]) - params[2, 0]) / params[2, 1]
        assert np.min(1 / np.hypot(1, t)) > 0.75  # the derivative falls by less than a quarter


@pytest.mark.parametrize(("shift", "spread"), [(0.0, 1.0), (-1.3, 1e-3), (2.0, 50.0)])
def test_asinh_log_jacobian_is_the_log_derivative(shift, spread):
    z = np.linspace(-4, 4, 81)
    params = np.array([[shift, spread]])
    h = 1e-6
    bend = lambda v: _transform.asinh_bend(v[:, None].copy(), params)[:, 0]  # noqa: E731
    numeric = (bend(z + h) - bend(z - h)) / (2 * h)
    np.testing.assert_allclose(_transform.asinh_log_jacobian(z[:, None], params), np.log(numeric), atol=1e-6)


def _heavy_tailed(seed: int, n_major: int = 900, n_minor: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.standard_cauchy(n_major + n_minor), rng.standard_t(2, n_major + n_minor)])
    y = np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]
    X[y == 1] += 3
    return X, y


def test_auto_transform_density_integrates_to_one_in_input_units():
    x, y = _heavy_tailed(RND_SEED)
    x = x[:, :1] * 1e3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GMMClassifier(feature_transform="auto", random_state=RND_SEED).fit(x, y)
    assert model.asinh_params_ is not None and not np.isnan(model.asinh_params_[0, 0])
    # Cauchy tails hold mass far out: integrate on a grid in the transformed coordinate's scale
    grid = np.sinh(np.linspace(-40, 40, 400_001)) * 1e3
    density = np.exp(model.class_log_likelihood(grid[:, None]))
    np.testing.assert_allclose(trapezoid(density, grid, axis=0), [1.0, 1.0], atol=2e-3)


def test_auto_transform_classifies_heavy_tails_better_than_yeo_johnson_alone():
    X, y = _heavy_tailed(1, 3000, 150)
    test_X, test_y = _heavy_tailed(2, 3000, 150)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = GMMClassifier(feature_transform="auto", random_state=RND_SEED).fit(X, y)
        power = GMMClassifier(feature_transform="yeo-johnson", random_state=RND_SEED).fit(X, y)

    def held_out_log_likelihood(model):
        ll = model.class_log_likelihood(test_X)
        return np.mean([ll[test_y == k, k].mean() for k in (0, 1)])

    # densities of X itself, so the two are comparable; the heavy tails cost the power transform nats
    # (0.23 per row here; at a fixed floor from 0.11 at 1e-6, where extra components take up part
    # of the tails, to 2.8 at 0.05)
    assert held_out_log_likelihood(auto) > held_out_log_likelihood(power) + 0.1


@given(
    exponents=st.lists(st.floats(-3, 3), min_size=2, max_size=2),
    shifts=st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=2),
)
@settings(max_examples=8, deadline=None)
def test_auto_transform_is_invariant_to_affine_changes_of_units(exponents, shifts):
    X, y = _heavy_tailed(RND_SEED, 300, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = GMMClassifier(feature_transform="auto", max_components=2, random_state=RND_SEED)
        b.fit(X * 10.0 ** np.array(exponents) + np.array(shifts), y)
    assert b.asinh_params_ is not None
    assert (
        np.mean(_auto_reference_predictions() == b.predict(X * 10.0 ** np.array(exponents) + np.array(shifts))) >= 0.99
    )


@functools.cache
def _auto_reference_predictions() -> np.ndarray:
    X, y = _heavy_tailed(RND_SEED, 300, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GMMClassifier(feature_transform="auto", max_components=2, random_state=RND_SEED).fit(X, y).predict(X)


def test_auto_transform_scores_through_the_fused_scorer_as_class_log_likelihood():
    X, y = _heavy_tailed(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GMMClassifier(feature_transform="auto", random_state=RND_SEED).fit(X, y)
    assert model.asinh_params_ is not None
    jll = model.class_log_likelihood(X) + np.log(model.class_prior_)
    want = np.exp(jll - np.logaddexp.reduce(jll, axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict_proba(X), want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_joint_transform_keeps_whichever_of_powers_alone_and_the_s_u_mix_gains_more(seed):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.standard_cauchy(1200), rng.lognormal(sigma=0.8, size=1200), rng.standard_t(3, 1200)])
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    groups = [np.arange(1000), np.arange(1000, 1200)]
    lambdas = fit_lambdas(Z, groups)
    asinh = _transform.fit_asinh(Z, lambdas, groups)
    assert asinh is not None
    mixed = np.where(np.isnan(asinh[:, 0]), lambdas, 1.0)
    power_gain = _transform.joint_gain(Z, lambdas, None, groups)
    mix_gain = _transform.joint_gain(Z, mixed, asinh, groups)
    kept_lambdas, kept_asinh = joint_transform(Z, lambdas, asinh, groups)
    if mix_gain > power_gain and mix_gain > 0:
        np.testing.assert_array_equal(kept_lambdas, mixed)
        np.testing.assert_array_equal(kept_asinh, asinh)
    else:
        assert kept_asinh is None
    assert mix_gain > power_gain  # on these tails the mix should be the one kept
