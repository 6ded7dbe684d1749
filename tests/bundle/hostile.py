"""A hostile-artefact corpus, generated: one attack per way a bundle, a path or an input was abused.

Every attack builds its artefact in a fresh directory and returns an action;
:func:`run` classifies what happened:

- ``refused``: a :class:`~gmm_hub.exceptions.GMMHubError` (and, for bundles,
  ``verify_bundle`` says not sound too: the two agree);
- ``neutralised``: it loaded, with the dangerous setting reset, or the input
  gave the same answers as the honest one;
- ``executed``: a marker file the payload touches exists (code ran);
- ``crashed``: another exception, or (in a subprocess) death by a signal;
- ``wrong``: it loaded but answered differently, or verify and load disagreed.

``python scripts/hostile_report.py`` and ``tests/bundle/test_hostile.py`` run it.
Attacks marked ``crashy`` run in a subprocess so a segfault is counted, not fatal.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import io
import json
import operator
import os
import pickle
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RND_SEED = 0
OUTCOMES = ("refused", "neutralised", "executed", "crashed", "wrong")


@dataclass(frozen=True)
class Attack:
    name: str
    item: str
    build: Callable[[Path], Callable[[], str]]
    crashy: bool = False


ATTACKS: dict[str, Attack] = {}


def attack(item: str, *, crashy: bool = False) -> Callable[[Callable[[Path], Callable[[], str]]], Any]:
    def register(build: Callable[[Path], Callable[[], str]]) -> Callable[[Path], Callable[[], str]]:
        ATTACKS[build.__name__] = Attack(build.__name__, item, build, crashy)
        return build

    return register


# ----------------------------------------------------------------------------- helpers


def data(n: int = 80) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(RND_SEED)
    y = (np.arange(n) % 4 == 0).astype(int)
    X = pd.DataFrame(
        {
            "amount": rng.normal(10 + 4 * y, 2),
            "age": rng.normal(40 - 6 * y, 5).round(),
            "channel": np.where(rng.random(n) < 0.4 + 0.4 * y, "web", "shop"),
        }
    )
    return X, y


@functools.cache
def model() -> Any:
    import gmm_hub

    X, y = data()
    return gmm_hub.tabular_pipeline(n_components=1, covariance_type="diag", random_state=RND_SEED).fit(X, y)


@functools.cache
def numeric_model() -> Any:
    import gmm_hub

    X, y = data()
    return gmm_hub.GMMClassifier(n_components=2, covariance_type="full", random_state=RND_SEED).fit(
        X[["amount", "age"]].to_numpy(), y
    )


def clone_fitted(obj: Any) -> Any:
    return pickle.loads(pickle.dumps(obj))


def bundle_of(work: Path, obj: Any | None = None) -> Path:
    import gmm_hub

    return gmm_hub.save(clone_fitted(obj if obj is not None else model()), work / "bundle")


def rehash(bundle: Path, blob: bytes, *, name: str = "model.skops", fmt: str = "skops", unpacked: bool = True) -> None:
    """Put ``blob`` in the bundle as its model and make config.json agree (a careful attacker)."""
    config = json.loads((bundle / "config.json").read_text())
    for old in config["files"]:
        (bundle / old).unlink(missing_ok=True)
    (bundle / name).write_bytes(blob)
    entry: dict[str, Any] = {"sha256": hashlib.sha256(blob).hexdigest(), "size": len(blob)}
    if unpacked and blob[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            entry["unpacked_size"] = sum(i.file_size for i in z.infolist())
    config["files"] = {name: entry}
    config["model"].update(file=name, format=fmt)
    (bundle / "config.json").write_text(json.dumps(config))


def skops_bytes(obj: Any) -> bytes:
    import skops.io

    return skops.io.dumps(obj)


def rezip(
    blob: bytes, schema_edit: Callable[[dict], Any] | None = None, extra: dict[str, bytes] | None = None
) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "schema.json" and schema_edit is not None:
                schema = json.loads(body)
                schema_edit(schema)
                body = json.dumps(schema).encode()
            dst.writestr(info.filename, body)
        for name, body in (extra or {}).items():
            dst.writestr(name, body)
    return out.getvalue()


def nodes(schema: Any):
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__loader__" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def load_and_verify(bundle: Path, check: Callable[[Any], str] | None = None) -> str:
    """Load and verify ``bundle``; ``refused`` only if both refuse, ``wrong`` if they disagree."""
    import gmm_hub
    from gmm_hub.bundle import verify_bundle
    from gmm_hub.exceptions import GMMHubError

    sound, _ = verify_bundle(bundle)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = gmm_hub.load(bundle)
    except GMMHubError:
        return "wrong" if sound else "refused"
    if not sound:
        return "wrong"
    return check(loaded) if check is not None else "wrong"


def probe_ok(loaded: Any) -> bool:
    X, _ = data()
    proba = loaded.predict_proba(X)
    return bool(np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1))


def edit_model(work: Path, mutate: Callable[[Any], Any], base: Any = None) -> Callable[[], str]:
    """A bundle whose (deep-copied) model was mutated, then dumped and rehashed."""
    bundle = bundle_of(work, base)
    hostile = clone_fitted(base if base is not None else model())
    mutate(hostile)
    rehash(bundle, skops_bytes(hostile))
    return lambda: load_and_verify(bundle)


def edit_schema(work: Path, edit: Callable[[dict], Any], extra: dict[str, bytes] | None = None) -> Callable[[], str]:
    bundle = bundle_of(work)
    rehash(bundle, rezip((bundle / "model.skops").read_bytes(), edit, extra))
    return lambda: load_and_verify(bundle)


def _gmm(m: Any) -> Any:
    return m[-1] if hasattr(m, "steps") else m


# ----------------------------------------------------------------------------- item 1: memory


@attack("1", crashy=True)
def sparse_out_of_range_indices(work: Path) -> Callable[[], str]:
    import scipy.sparse as sp

    def mutate(m: Any) -> None:
        g = _gmm(m).gmms_[0]
        bad = sp.csr_matrix(g.means_)
        bad.indices[:] = 10**6  # columns far outside the matrix
        g.means_ = bad

    return edit_model(work, mutate)


@attack("1")
def means_wrong_shape(work: Path) -> Callable[[], str]:
    return edit_model(work, lambda m: setattr(_gmm(m).gmms_[0], "means_", np.zeros((1, 40))))


@attack("1")
def weights_not_normalised(work: Path) -> Callable[[], str]:
    return edit_model(work, lambda m: setattr(_gmm(m).gmms_[1], "weights_", np.array([7.0])))


@attack("1")
def precisions_nan(work: Path) -> Callable[[], str]:
    return edit_model(work, lambda m: _gmm(m).gmms_[0].precisions_cholesky_.fill(np.nan))


@attack("1")
def class_prior_wrong_length(work: Path) -> Callable[[], str]:
    return edit_model(work, lambda m: setattr(_gmm(m), "class_prior_", np.array([0.2, 0.3, 0.5])))


@attack("1")
def floor_shape_forged_into_the_card(work: Path) -> Callable[[], str]:
    # the card names each class's floor shape: a forged one must not reach it as Markdown
    forged = np.array(["diagonal", "<img src=x onerror=alert(1)>"])
    return edit_model(work, lambda m: setattr(_gmm(m), "floor_shape_", forged))


@attack("1")
def gmms_fewer_than_classes(work: Path) -> Callable[[], str]:
    return edit_model(work, lambda m: _gmm(m).gmms_.pop())


@attack("1")
def covariance_type_lie(work: Path) -> Callable[[], str]:
    return edit_model(work, lambda m: setattr(_gmm(m).gmms_[0], "covariance_type", "full"))


@attack("1")
def full_precisions_truncated(work: Path) -> Callable[[], str]:
    def mutate(m: Any) -> None:
        g = m.gmms_[0]
        g.precisions_cholesky_ = g.precisions_cholesky_[:, :1, :1].copy()

    return edit_model(work, mutate, numeric_model())


@attack("1")
def scaler_mean_broadcasts(work: Path) -> Callable[[], str]:
    def mutate(m: Any) -> None:
        scaler = m[0].named_transformers_["numeric"][-1]
        scaler.mean_ = np.array([1e3])  # would broadcast over both columns silently

    return edit_model(work, mutate)


@attack("1", crashy=True)
def npy_header_claims_more_than_it_holds(work: Path) -> Callable[[], str]:
    bundle = bundle_of(work)
    blob = (bundle / "model.skops").read_bytes()
    src = zipfile.ZipFile(io.BytesIO(blob))
    victim = next(n for n in src.namelist() if n.endswith(".npy") and np.load(io.BytesIO(src.read(n))).size > 1)
    arr = np.load(io.BytesIO(src.read(victim)))
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": arr.dtype.str, "fortran_order": False, "shape": (10**9,)})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, buf.getvalue() + arr.tobytes() if info.filename == victim else src.read(info))
    rehash(bundle, out.getvalue())
    return lambda: load_and_verify(bundle)


@attack("1")
def npy_object_array_with_pickle(work: Path) -> Callable[[], str]:
    marker = work / "EXECUTED"
    bundle = bundle_of(work)
    blob = (bundle / "model.skops").read_bytes()
    src = zipfile.ZipFile(io.BytesIO(blob))
    victim = next(n for n in src.namelist() if n.endswith(".npy"))
    evil = np.empty(1, dtype=object)
    evil[0] = Payload(marker)
    buf = io.BytesIO()
    np.save(buf, evil, allow_pickle=True)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, buf.getvalue() if info.filename == victim else src.read(info))
    rehash(bundle, out.getvalue())
    return lambda: load_and_verify(bundle)


class Payload:
    """Unpickling runs ``touch <marker>``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


# ----------------------------------------------------------------------------- item 2: the allowlist


@attack("2")
def bare_logistic_regression(work: Path) -> Callable[[], str]:
    from sklearn.linear_model import LogisticRegression

    X, y = data()
    bundle = bundle_of(work)
    rehash(bundle, skops_bytes(LogisticRegression().fit(X[["amount", "age"]], y)))
    return lambda: load_and_verify(bundle)


@attack("2")
def function_transformer_numpy_function(work: Path) -> Callable[[], str]:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, _ = data()
    hostile = Pipeline([("f", FunctionTransformer(np.log1p)), ("g", clone_fitted(numeric_model()))])
    hostile.steps[0][1].fit(X[["amount", "age"]].to_numpy())
    bundle = bundle_of(work, numeric_model())
    rehash(bundle, skops_bytes(hostile))
    return lambda: load_and_verify(bundle)


@attack("2")
def sklearn_default_trusted_step(work: Path) -> Callable[[], str]:
    from sklearn.decomposition import PCA
    from sklearn.pipeline import Pipeline

    X, _ = data()
    hostile = Pipeline([("pca", PCA(2)), ("g", clone_fitted(numeric_model()))])
    hostile.steps[0][1].fit(X[["amount", "age"]].to_numpy())
    bundle = bundle_of(work, numeric_model())
    rehash(bundle, skops_bytes(hostile))
    return lambda: load_and_verify(bundle)


def _stash(value: Any) -> Callable[[Any], None]:
    return lambda m: setattr(_gmm(m), "extra_", value)


@attack("2")
def numpy_function_attribute(work: Path) -> Callable[[], str]:
    return edit_model(work, _stash(np.add))


@attack("2")
def bound_method_attribute(work: Path) -> Callable[[], str]:
    from sklearn.preprocessing import StandardScaler

    return edit_model(work, _stash(StandardScaler().fit))


@attack("2")
def partial_of_os_system(work: Path) -> Callable[[], str]:
    return edit_model(work, _stash(functools.partial(os.system, "true")))


@attack("2")
def operator_attrgetter(work: Path) -> Callable[[], str]:
    return edit_model(work, _stash(operator.attrgetter("__class__")))


@attack("2")
def constructor_from_reduce(work: Path) -> Callable[[], str]:
    return edit_model(work, _stash(datetime.timezone(datetime.timedelta(hours=1))))


@attack("2")
def bytes_attribute(work: Path) -> Callable[[], str]:
    return edit_model(work, _stash(b"\x00" * 64))


@attack("2")
def set_attribute(work: Path) -> Callable[[], str]:
    return edit_model(work, _stash({1, 2, 3}))


@attack("2")
def masked_array_attribute(work: Path) -> Callable[[], str]:
    return edit_model(work, _stash(np.ma.masked_array([1.0, 2.0], mask=[0, 1])))


@attack("2")
def random_generator_calls_numpy_random_seed(work: Path) -> Callable[[], str]:
    def edit(schema: dict) -> None:
        schema["content"]["content"]["extra_"] = {
            "__class__": "Generator",
            "__module__": "numpy.random._generator",
            "__loader__": "RandomGeneratorNode",
            "content": {"bit_generator": {"content": {"bit_generator": {"content": '"seed"'}}}, "seed_seq": {}},
        }

    return edit_schema(work, edit)


@attack("2")
def type_node_names_eval(work: Path) -> Callable[[], str]:
    def edit(schema: dict) -> None:
        node = next(n for n in nodes(schema) if n["__loader__"] == "TypeNode")
        node["__module__"], node["__class__"] = "builtins", "eval"

    return edit_schema(work, edit)


@attack("2")
def object_node_names_os_system(work: Path) -> Callable[[], str]:
    def edit(schema: dict) -> None:
        schema["__module__"], schema["__class__"] = "os", "system"

    return edit_schema(work, edit)


@attack("2")
def json_node_holds_a_list(work: Path) -> Callable[[], str]:
    def edit(schema: dict) -> None:
        node = next(n for n in nodes(schema) if n["__loader__"] == "JsonNode")
        node["content"] = json.dumps([[["x"] * 3] * 3])

    return edit_schema(work, edit)


@attack("2")
def old_skops_protocol(work: Path) -> Callable[[], str]:
    return edit_schema(work, lambda schema: schema.update(protocol=0))


@attack("2")
def node_is_its_own_ancestor(work: Path) -> Callable[[], str]:
    def edit(schema: dict) -> None:
        schema["__id__"] = 4242
        inner = next(n for n in nodes(schema["content"]) if n["__loader__"] == "ObjectNode")
        inner["__id__"] = 4242

    return edit_schema(work, edit)


def _list_chain(depth: int) -> str:
    head = '{"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": ['
    return head * depth + "]}" * depth


def _schema_text_edit(work: Path, edit: Callable[[str], str]) -> Callable[[], str]:
    bundle = bundle_of(work)
    src = zipfile.ZipFile(io.BytesIO((bundle / "model.skops").read_bytes()))
    text = edit(src.read("schema.json").decode())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, text.encode() if info.filename == "schema.json" else src.read(info))
    rehash(bundle, out.getvalue())
    return lambda: load_and_verify(bundle)


def _add_to_root_content(depth: int) -> Callable[[str], str]:
    def edit(text: str) -> str:
        marker = '"content": {'
        first = text.index(marker, text.index(marker) + 1) + len(marker)  # the root object's attribute dict
        return text[:first] + '"extra_": ' + _list_chain(depth) + ", " + text[first:]

    return edit


@attack("2")
def schema_nested_100k_deep(work: Path) -> Callable[[], str]:
    return _schema_text_edit(work, _add_to_root_content(100_000))


@attack("2")
def schema_nested_500_deep(work: Path) -> Callable[[], str]:
    return _schema_text_edit(work, _add_to_root_content(500))


def _neutralised(check: Callable[[Any], bool]) -> Callable[[Any], str]:
    return lambda loaded: "neutralised" if check(loaded.model) and probe_ok(loaded) else "wrong"


@attack("2")
def column_transformer_n_jobs_32(work: Path) -> Callable[[], str]:
    bundle = bundle_of(work)
    hostile = clone_fitted(model())
    hostile[0].n_jobs = 32
    rehash(bundle, skops_bytes(hostile))
    return lambda: load_and_verify(bundle, _neutralised(lambda m: m[0].n_jobs is None))


@attack("2")
def pipeline_memory_path(work: Path) -> Callable[[], str]:
    cache = work / "joblib-cache"
    bundle = bundle_of(work)
    hostile = clone_fitted(model())
    hostile.memory = str(cache)
    hostile[-1].n_jobs = 8
    rehash(bundle, skops_bytes(hostile))
    return lambda: load_and_verify(
        bundle, _neutralised(lambda m: m.memory is None and m[-1].n_jobs is None and not cache.exists())
    )


@attack("2")
def mixture_verbose(work: Path) -> Callable[[], str]:
    bundle = bundle_of(work)
    hostile = clone_fitted(model())
    hostile[-1].gmms_[0].verbose = 5
    hostile[-1].verbose = 3
    rehash(bundle, skops_bytes(hostile))
    return lambda: load_and_verify(bundle, _neutralised(lambda m: m[-1].gmms_[0].verbose == 0 and m[-1].verbose == 0))


@attack("2")
def column_selector_redos_pattern(work: Path) -> Callable[[], str]:
    def mutate(m: Any) -> None:
        m[0].transformers[0][2].pattern = "^(a+)+$"

    return edit_model(work, mutate)


# ----------------------------------------------------------------------------- item 3: amplification


@attack("3", crashy=True)
def one_member_named_many_times(work: Path) -> Callable[[], str]:
    big = io.BytesIO()
    np.save(big, np.zeros(1 << 20))  # 8 MiB, deflates to a few KiB

    def edit(schema: dict) -> None:
        ref = {"__class__": "ndarray", "__module__": "numpy", "__loader__": "NdArrayNode", "type": "numpy"}
        schema["content"]["content"]["extra_"] = {
            "__class__": "list",
            "__module__": "builtins",
            "__loader__": "ListNode",
            "content": [{**ref, "file": "big.npy", "__id__": 10**6 + i} for i in range(300)],
        }

    return edit_schema(work, edit, {"big.npy": big.getvalue()})


@attack("3", crashy=True)
def zip_bomb_member(work: Path) -> Callable[[], str]:
    bomb = io.BytesIO()
    np.save(bomb, np.zeros(12 << 20))  # 96 MiB of zeros

    def edit(schema: dict) -> None:
        schema["content"]["content"]["extra_"] = {
            "__class__": "ndarray",
            "__module__": "numpy",
            "__loader__": "NdArrayNode",
            "type": "numpy",
            "file": "bomb.npy",
        }

    bundle = bundle_of(work)
    rehash(bundle, rezip((bundle / "model.skops").read_bytes(), edit, {"bomb.npy": bomb.getvalue()}), unpacked=False)
    return lambda: load_and_verify(bundle)


@attack("3")
def unpacked_size_understated(work: Path) -> Callable[[], str]:
    bundle = bundle_of(work)
    config = json.loads((bundle / "config.json").read_text())
    config["files"]["model.skops"]["unpacked_size"] = 1000
    (bundle / "config.json").write_text(json.dumps(config))
    return lambda: load_and_verify(bundle)


@attack("3")
def duplicate_member_names(work: Path) -> Callable[[], str]:
    bundle = bundle_of(work)
    blob = (bundle / "model.skops").read_bytes()
    src = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate
        with zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                dst.writestr(info.filename, src.read(info))
            dst.writestr("schema.json", json.dumps({"protocol": 2, "__loader__": "ObjectNode"}))
    rehash(bundle, out.getvalue())
    return lambda: load_and_verify(bundle)


# ----------------------------------------------------------------------------- item 4: paths and the Hub


def _never_on_hub(target: str) -> Callable[[Path], Callable[[], str]]:
    def build(work: Path) -> Callable[[], str]:
        def action() -> str:
            import gmm_hub
            from gmm_hub.exceptions import BundleError

            cwd = os.getcwd()
            os.chdir(work)
            try:
                gmm_hub.load(target, allow_pickle=True)
            except BundleError as err:
                return "refused" if "not looked up on the Hub" in str(err) else "wrong"
            finally:
                os.chdir(cwd)
            return "wrong"

        return action

    return build


for _i, _target in enumerate(["./bundles/fraud", "bundles/fraud/v1", "fraud.skops", "~/fraud", "/srv/fraud"]):
    _build = _never_on_hub(_target)
    _build.__name__ = f"missing_path_never_resolved_on_hub_{_i}"
    attack("4")(_build)


# ----------------------------------------------------------------------------- item 5: overwrite


@attack("5")
def overwrite_transformers_folder(work: Path) -> Callable[[], str]:
    folder = work / "bert"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (folder / "model.safetensors").write_bytes(b"weights")

    def action() -> str:
        import gmm_hub
        from gmm_hub.exceptions import BundleError

        try:
            gmm_hub.save(model(), folder, overwrite=True)
        except BundleError:
            return "refused" if (folder / "model.safetensors").read_bytes() == b"weights" else "wrong"
        return "wrong"

    return action


@attack("5")
def overwrite_bundle_with_unlisted_notes(work: Path) -> Callable[[], str]:
    bundle = bundle_of(work)
    (bundle / "notes.txt").write_text("mine")

    def action() -> str:
        import gmm_hub
        from gmm_hub.exceptions import BundleError

        try:
            gmm_hub.save(model(), bundle, overwrite=True)
        except BundleError:
            return "refused" if (bundle / "notes.txt").read_text() == "mine" else "wrong"
        return "wrong"

    return action


# ----------------------------------------------------------------------------- item 6: inputs


def _same_answers(frame_of: Callable[[pd.DataFrame], Any]) -> Callable[[Path], Callable[[], str]]:
    def build(work: Path) -> Callable[[], str]:
        import gmm_hub

        loaded = gmm_hub.load(bundle_of(work))
        X, _ = data()
        honest = loaded.predict_proba(X)

        def action() -> str:
            other = loaded.predict_proba(frame_of(X[["channel", "age", "amount"]]))
            return "neutralised" if np.array_equal(other, honest) else "wrong"

        return action

    return build


def _pyarrow(frame: pd.DataFrame) -> Any:
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False)


def _polars(frame: pd.DataFrame) -> Any:
    import polars as pl

    return pl.from_pandas(frame)


ATTACKS["pyarrow_columns_reordered"] = Attack("pyarrow_columns_reordered", "6", _same_answers(_pyarrow))
ATTACKS["polars_columns_reordered"] = Attack("polars_columns_reordered", "6", _same_answers(_polars))


def _refused_input(
    make: Callable[[pd.DataFrame], Any], bundle: Callable[[Path], Path] = bundle_of
) -> Callable[[Path], Callable[[], str]]:
    def build(work: Path) -> Callable[[], str]:
        import gmm_hub
        from gmm_hub.exceptions import SchemaError

        X, _ = data()
        loaded = gmm_hub.load(bundle(work))

        def action() -> str:
            try:
                loaded.predict(make(X))
            except SchemaError:
                return "refused"
            return "wrong"

        return action

    return build


class _Frame:
    """The two things ``gmm_hub.save(dataset=...)`` reads of a Dataset: ``info()`` and ``X``."""

    def __init__(self, X: pd.DataFrame) -> None:
        self.X = X

    def info(self) -> dict[str, Any]:
        return {"name": "hostile", "n_rows": len(self.X)}


def _int_bundle(work: Path) -> Path:
    import gmm_hub

    X, y = data()
    X = X.assign(age=X["age"].astype("int64"))
    fitted = gmm_hub.tabular_pipeline(n_components=1, covariance_type="diag", random_state=RND_SEED).fit(X, y)
    return gmm_hub.save(fitted, work / "int-bundle", dataset=_Frame(X))


def _dup_pyarrow(X: pd.DataFrame) -> Any:
    import pyarrow as pa

    return pa.table([X["amount"], X["age"], X["channel"], X["age"]], names=["amount", "age", "channel", "age"])


for _name, _make, _base in [
    ("pandas_duplicate_column_names", lambda X: X.set_axis(["amount", "age", "amount"], axis=1), bundle_of),
    ("pyarrow_duplicate_column_names", _dup_pyarrow, bundle_of),
    ("fraction_in_integer_column", lambda X: X.assign(age=X["age"] + 0.5), _int_bundle),
    ("infinite_value", lambda X: X.assign(amount=np.inf), bundle_of),
]:
    ATTACKS[_name] = Attack(_name, "6", _refused_input(_make, _base))


# ----------------------------------------------------------------------------- item 7: config.json


def _config_text(work: Path, text: str | bytes) -> Callable[[], str]:
    bundle = bundle_of(work)
    body = text if isinstance(text, bytes) else text.encode()
    (bundle / "config.json").write_bytes(body)
    return lambda: load_and_verify(bundle)


def _config_edit(edit: Callable[[dict], Any]) -> Callable[[Path], Callable[[], str]]:
    def build(work: Path) -> Callable[[], str]:
        bundle = bundle_of(work)
        config = json.loads((bundle / "config.json").read_text())
        edit(config)
        (bundle / "config.json").write_text(json.dumps(config))
        return lambda: load_and_verify(bundle)

    return build


def _nested(work: Path) -> Callable[[], str]:
    config = json.loads((bundle_of(work) / "config.json").read_text())
    text = json.dumps(config)
    return _config_text(work / "n", text[:-1] + ', "deep": ' + "[" * 200_000 + "]" * 200_000 + "}")


def _digits(work: Path) -> Callable[[], str]:
    config = json.loads((bundle_of(work) / "config.json").read_text())
    return _config_text(work / "d", json.dumps(config)[:-1] + ', "created": ' + "7" * 5000 + "}")


def _huge(work: Path) -> Callable[[], str]:
    config = json.loads((bundle_of(work) / "config.json").read_text())
    return _config_text(work / "h", json.dumps({**config, "pad": "x" * (17 << 20)}))


for _name, _build in [
    ("config_200k_deep", _nested),
    ("config_5000_digit_int", _digits),
    ("config_17_mib", _huge),
    ("config_versions_string", _config_edit(lambda c: c.update(versions="1.0"))),
    ("config_format_list", _config_edit(lambda c: c.update(format=["gmm_hub-bundle"]))),
    ("config_format_version_string", _config_edit(lambda c: c.update(format_version="1"))),
    ("config_size_string", _config_edit(lambda c: c["files"]["model.skops"].update(size="big"))),
    ("config_files_list", _config_edit(lambda c: c.update(files=["model.skops"]))),
    ("config_model_format_list", _config_edit(lambda c: c["model"].update(format=["skops"]))),
    ("config_schema_columns_dict", _config_edit(lambda c: c["schema"].update(columns={"a": 1}))),
    ("config_classes_differ", _config_edit(lambda c: c.update(classes=["a", "b"]))),
]:
    ATTACKS[_name] = Attack(_name, "7", _build)


@attack("7")
def model_file_4_gib_sparse(work: Path) -> Callable[[], str]:
    bundle = bundle_of(work)
    with open(bundle / "model.skops", "r+b") as fh:
        fh.truncate(4 << 30)  # a sparse file: refused by its size, never read or hashed
    return lambda: load_and_verify(bundle)


# ----------------------------------------------------------------------------- already covered in test_trust.py


@attack("existing")
def pickle_runs_shell_command(work: Path) -> Callable[[], str]:
    bundle = bundle_of(work)
    rehash(bundle, pickle.dumps(Payload(work / "EXECUTED")), name="model.joblib", fmt="joblib")
    return lambda: load_and_verify(bundle)


@attack("existing")
def pickle_disguised_as_skops(work: Path) -> Callable[[], str]:
    bundle = bundle_of(work)
    rehash(bundle, pickle.dumps(Payload(work / "EXECUTED")))
    return lambda: load_and_verify(bundle)


@attack("existing")
def function_transformer_os_system(work: Path) -> Callable[[], str]:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    hostile = Pipeline([("f", FunctionTransformer(os.system)), ("g", clone_fitted(numeric_model()))])
    bundle = bundle_of(work, numeric_model())
    rehash(bundle, skops_bytes(hostile))
    return lambda: load_and_verify(bundle)


@attack("existing")
def tampered_model_byte(work: Path) -> Callable[[], str]:
    bundle = bundle_of(work)
    blob = bytearray((bundle / "model.skops").read_bytes())
    blob[len(blob) // 2] ^= 1
    (bundle / "model.skops").write_bytes(bytes(blob))
    return lambda: load_and_verify(bundle)


@attack("existing")
def path_outside_bundle(work: Path) -> Callable[[], str]:
    def edit(config: dict) -> None:
        config["files"]["../model.skops"] = config["files"].pop("model.skops")
        config["model"]["file"] = "../model.skops"

    return _config_edit(edit)(work)


# ----------------------------------------------------------------------------- running


def run(name: str, work: Path) -> str:
    """Build and run one attack in this process; return its outcome."""
    from gmm_hub.exceptions import GMMHubError

    work.mkdir(parents=True, exist_ok=True)
    try:
        action = ATTACKS[name].build(work)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome = action()
    except GMMHubError:
        outcome = "refused"
    except Exception as err:  # the boundary leaked another exception
        outcome = f"crashed ({type(err).__name__}: {str(err)[:120]})"
    if (work / "EXECUTED").exists():
        outcome = "executed"
    return outcome


def run_isolated(name: str, work: Path, *, timeout: float = 300) -> tuple[str, float]:
    """Run one attack in a subprocess; return (outcome, its peak RSS in MiB)."""
    code = (
        "import json, resource, sys; sys.path.insert(0, sys.argv[1]); import hostile; "
        "out = hostile.run(sys.argv[2], __import__('pathlib').Path(sys.argv[3])); "
        "print(json.dumps([out, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), name, str(work)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        return f"crashed (exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]})", 0.0
    outcome, peak = json.loads(proc.stdout.strip().splitlines()[-1])
    return outcome, peak
