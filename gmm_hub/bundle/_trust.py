"""The trust boundary of ``model.skops``: gmm_hub's own allowlist, checked node by node.

A ``model.skops`` file is a zip archive whose ``schema.json`` describes, node
by node, everything skops will build. :func:`audit_skops` walks that schema
itself, before skops reads it, and refuses the file unless every node is

- of a loader gmm_hub accepts (objects, dicts, lists, tuples, JSON scalars,
  numpy arrays and dtypes, types, slices, ``RandomState``): never a function,
  method, ``functools.partial``, ``operator`` callable, bytes, set, sparse
  matrix, masked array, tree or anything built from ``__reduce__``;
- of a type on the fixed lists below (:data:`OBJECT_TYPES` for estimators,
  :data:`ARRAY_TYPES`, :data:`TYPE_TYPES`): what gmm_hub's pipelines hold and
  nothing more. skops' own default-trusted types (every scikit-learn
  estimator, numpy functions) are not trusted unless listed here;
- well formed: JSON scalars parse to scalars, slices hold integers, no node
  is its own ancestor, the tree is at most :data:`MAX_DEPTH` deep and
  :data:`MAX_NODES` large, every array member is read at most once and its
  ``.npy`` header accounts exactly for its bytes (:mod:`._archive`).

Only then is the file built, by gmm_hub's reader of exactly these nodes
(:mod:`._reader`, so a cold load needs no ``import skops.io``) or by
:func:`skops.io.loads` with this list as ``trusted``; what is built is
checked by :mod:`._validate`. The names are
built from the classes (``f"{cls.__module__}.{cls.__qualname__}"``): they are
part of the bundle format, which ``tests/bundle/test_io.py`` checks by
loading a committed fixture.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import logging
import zipfile
from collections.abc import Iterable
from typing import Any

from ..exceptions import BundleError, UntrustedModelError
from ._archive import check_npy_member, open_archive

__all__ = [
    "ARRAY_TYPES",
    "MAX_DEPTH",
    "MAX_NODES",
    "OBJECT_TYPES",
    "SKOPS_PROTOCOLS",
    "TYPE_TYPES",
    "audit_archive",
    "audit_skops",
    "check_trusted",
    "is_trusted_object",
    "names_of",
    "trusted_types",
    "with_schema",
]

logger = logging.getLogger(__name__)

#: skops protocols whose node semantics this audit models.
SKOPS_PROTOCOLS = (2,)
MAX_DEPTH = 150
MAX_NODES = 1_000_000
_MAX_JSON_CONTENT = 1 << 20

#: Estimators and helpers that may appear as objects (skops ``ObjectNode``).
OBJECT_TYPES: tuple[tuple[str, str], ...] = (
    ("gmm_hub.model._classifier", "GMMClassifier"),
    ("sklearn.mixture", "GaussianMixture"),
    ("sklearn.pipeline", "Pipeline"),
    ("sklearn.compose", "ColumnTransformer"),
    ("sklearn.compose", "make_column_selector"),
    ("sklearn.impute", "SimpleImputer"),
    ("sklearn.preprocessing", "StandardScaler"),
    ("sklearn.preprocessing", "OneHotEncoder"),
    ("sklearn.preprocessing", "TargetEncoder"),
    ("sklearn.model_selection", "StratifiedKFold"),  # the target encoder's cross-fitting folds
    ("sklearn.preprocessing", "QuantileTransformer"),
    ("sklearn.preprocessing", "PowerTransformer"),
    ("sklearn.preprocessing", "RobustScaler"),
)
_SCALARS: tuple[str, ...] = ("bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
_SCALARS += ("float16", "float32", "float64", "str_")
#: numpy arrays and scalars (skops ``NdArrayNode``).
ARRAY_TYPES: tuple[tuple[str, str], ...] = (("numpy", "ndarray"), *(("numpy", s) for s in _SCALARS))
#: Types stored as values (``dtype=np.float64``, ``dtype_include=np.number``, dict key types).
TYPE_TYPES: tuple[tuple[str, str], ...] = (
    ("builtins", "str"),
    ("builtins", "int"),
    ("builtins", "float"),
    ("builtins", "bool"),
    ("builtins", "object"),
    ("numpy", "number"),
    ("numpy", "integer"),
    ("numpy", "floating"),
    *(("numpy", s) for s in _SCALARS),
)
_JSON_CLASSES = {"builtins.str", "builtins.int", "builtins.float", "builtins.bool", "builtins.NoneType"}
_CONTAINERS = {"DictNode": "builtins.dict", "ListNode": "builtins.list", "TupleNode": "builtins.tuple"}
_FIXED = {
    "SliceNode": "builtins.slice",
    "DTypeNode": "numpy.dtype",
    "RandomStateNode": "numpy.random.mtrand.RandomState",
}
_KEYS = {"__class__", "__module__", "__loader__", "__id__", "content", "key_types", "type", "file", "shape", "is_json"}

#: Type paths that bundles written by earlier gmm_hub versions record, mapped
#: to where the class lives now (0.2 moved the modules into subpackages).
LEGACY_TYPES: dict[str, str] = {
    "gmm_hub._classifier.GMMClassifier": "gmm_hub.model._classifier.GMMClassifier",
}


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@functools.cache
def names_of(entries: tuple[tuple[str, str], ...]) -> frozenset[str]:
    """The qualified names of the classes ``entries`` list (those that exist here)."""
    names = set()
    for module_name, attr in entries:
        try:
            names.add(_type_name(getattr(importlib.import_module(module_name), attr)))
        except (ImportError, AttributeError):
            logger.debug("trusted type %s.%s not available here; skipped", module_name, attr)
    return frozenset(names)


@functools.lru_cache(maxsize=256)
def is_trusted_object(name: str) -> bool:
    """True if ``name`` (``module.QualName``) is the class of an :data:`OBJECT_TYPES` entry.

    Only the entries of that class name are imported, so checking a bundle
    of a scaler and a classifier does not import ``sklearn.compose`` or
    ``sklearn.impute``; the answer is that of ``name in names_of(OBJECT_TYPES)``.
    """
    attr = name.rpartition(".")[2]
    return any(name in names_of(((module, attr),)) for module, cls in OBJECT_TYPES if cls == attr)


@functools.cache
def trusted_types() -> tuple[str, ...]:
    """Return the sorted, fixed list of type names gmm_hub trusts.

    Returns
    -------
    names : tuple of str
        Qualified names (``module.QualName``) as skops writes them: the
        estimators of :data:`OBJECT_TYPES`, the numpy arrays, scalars and
        types, and the containers.

    Examples
    --------
    >>> from gmm_hub.bundle._trust import trusted_types
    >>> "gmm_hub.model._classifier.GMMClassifier" in trusted_types()
    True
    >>> "sklearn.linear_model._logistic.LogisticRegression" in trusted_types()
    False
    """
    names = set(names_of(OBJECT_TYPES) | names_of(ARRAY_TYPES) | names_of(TYPE_TYPES))
    names |= _JSON_CLASSES | set(_CONTAINERS.values()) | set(_FIXED.values())
    names.update(old for old, new in LEGACY_TYPES.items() if new in names)
    return tuple(sorted(names))


def _untrusted_error(offending: Iterable[str]) -> UntrustedModelError:
    found = sorted(set(offending))
    return UntrustedModelError(
        f"refusing to load: the model file holds {len(found)} type(s) that gmm_hub "
        f"does not trust: {', '.join(found)}. Loading them could run arbitrary code. "
        "gmm_hub trusts only the types on its own fixed list (gmm_hub.bundle.trusted_types(): "
        "GMMClassifier, GaussianMixture, Pipeline, ColumnTransformer, make_column_selector, "
        "SimpleImputer, StandardScaler, OneHotEncoder, TargetEncoder (and its StratifiedKFold), "
        "QuantileTransformer, PowerTransformer, RobustScaler and numpy arrays); inspect the file with "
        "skops.io.get_untrusted_types and "
        "load it yourself only if you trust its source."
    )


def check_trusted(found: Iterable[str]) -> None:
    """Raise unless every type name in ``found`` is on :func:`trusted_types`.

    Raises
    ------
    UntrustedModelError
        Naming every type that is not on the list.
    """
    offending = set(found) - set(trusted_types())
    if offending:
        raise _untrusted_error(offending)


def _refuse(problem: str) -> BundleError:
    return BundleError(f"refusing the model file: {problem}. It is damaged or was crafted by hand.")


def _json_scalar(content: Any) -> None:
    if not isinstance(content, str) or len(content) > _MAX_JSON_CONTENT:
        raise _refuse("a JSON node holds no text, or more than 1 MiB")
    try:
        value = json.loads(content)
    except (ValueError, RecursionError) as err:  # includes ints over Python's digit limit
        raise _refuse(f"a JSON node does not parse ({str(err)[:80]})") from err
    if value is not None and not isinstance(value, (bool, int, float, str)):
        raise _refuse(f"a JSON node holds a {type(value).__name__}, not a scalar")


class _Walk:
    """One pass over a schema in the order skops' ``get_tree`` visits it."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.members = set(archive.namelist())
        self.read: set[str] = set()
        self.memo: dict[int, bool] = {}  # __id__ -> finished (False while it is an ancestor)
        self.untrusted: set[str] = set()
        self.nodes = 0
        self.shadow = False  # inside a subtree skops replaces by an earlier node with the same __id__

    def run(self, schema: dict[str, Any]) -> None:
        stack: list[Any] = [(schema, 0, False)]
        while stack:
            item = stack.pop()
            if isinstance(item, int):  # leaving the node with this __id__
                self.memo[item] = True
                continue
            node, depth, shadow = item
            self.shadow = shadow
            children = self.visit(node, depth, stack)
            stack.extend((child, d, shadow or self.shadow) for child, d in reversed(children))
        if self.untrusted:
            raise _untrusted_error(self.untrusted)

    def visit(self, node: Any, depth: int, stack: list[Any]) -> list[tuple[Any, int]]:
        """Check one node; return its children in visiting order."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _refuse(f"the schema has more than {MAX_NODES} nodes")
        if depth > MAX_DEPTH:
            raise _refuse(f"the schema nests deeper than {MAX_DEPTH} levels")
        if not isinstance(node, dict):
            raise _refuse(f"a schema node is a {type(node).__name__}, not an object")
        loader, module, cls = node.get("__loader__"), node.get("__module__"), node.get("__class__")
        if not (isinstance(loader, str) and isinstance(module, str) and isinstance(cls, str)):
            raise _refuse("a schema node lacks __loader__, __module__ or __class__")
        if not _KEYS.issuperset(node):  # the usual case in one C-level pass, no sets built
            extra = set(node) - _KEYS - ({"protocol", "_skops_version"} if depth == 0 else set())
            if extra:
                raise _refuse(f"a {loader} has unexpected keys {sorted(extra)}")
        node_id = node.get("__id__")
        if node_id is not None and (not isinstance(node_id, int) or isinstance(node_id, bool)):
            raise _refuse("a node's __id__ is not an integer")
        if node_id and not self.shadow:  # skops memoises every truthy id, returns the first node for a repeat
            if node_id in self.memo:
                if not self.memo[node_id]:
                    raise _refuse("a node refers to one of its own ancestors (a cycle)")
                self.shadow = True  # never built: its types are checked all the same, its members never read
            else:
                self.memo[node_id] = False
                stack.append(node_id)
        name = f"{module}.{cls}"
        child = depth + 1
        if loader == "ObjectNode":
            if not is_trusted_object(name):
                self.untrusted.add(name)  # its children are still walked, to name every untrusted type
            return [(node["content"], child)] if node.get("content") is not None else []
        if loader in _CONTAINERS:
            if name != _CONTAINERS[loader]:
                self.untrusted.add(name)
                return []
            content = node.get("content")
            if loader == "DictNode":
                if not isinstance(content, dict) or not isinstance(node.get("key_types"), dict):
                    raise _refuse("a dict node lacks its content or key types")
                return [(node["key_types"], child), *((value, child) for value in content.values())]
            if not isinstance(content, list):
                raise _refuse(f"a {loader} holds no list")
            return [(value, child) for value in content]
        if loader == "JsonNode":
            if name not in _JSON_CLASSES:
                self.untrusted.add(name)
            else:
                _json_scalar(node.get("content"))
            return []
        if loader == "TypeNode":
            if name not in names_of(TYPE_TYPES):
                self.untrusted.add(name)
            return []
        if loader == "NdArrayNode":
            return self.array(node, name, child)
        if loader in _FIXED:
            if name != _FIXED[loader]:
                self.untrusted.add(name)
                return []
            if loader == "SliceNode":
                content = node.get("content")
                bounds = [content.get(k) for k in ("start", "stop", "step")] if isinstance(content, dict) else [""]
                if not all(b is None or (isinstance(b, int) and not isinstance(b, bool)) for b in bounds):
                    raise _refuse("a slice holds something other than integers")
                return []
            if not isinstance(node.get("content"), dict):
                raise _refuse(f"a {loader} has no content")
            return [(node["content"], child)]
        # FunctionNode, MethodNode, PartialNode, OperatorFuncNode, SparseMatrixNode, BytesNode, ...
        self.untrusted.add(name if loader not in ("MethodNode",) else f"{name} (method)")
        return []

    def array(self, node: dict[str, Any], name: str, child: int) -> list[tuple[Any, int]]:
        if name not in names_of(ARRAY_TYPES):
            self.untrusted.add(name)
            return []
        kind = node.get("type")
        if kind == "numpy":
            member = node.get("file")
            if not isinstance(member, str) or member not in self.members or member == "schema.json":
                raise _refuse(f"an array names a member {member!r} the archive does not hold")
            if self.shadow:
                return []
            if member in self.read:
                raise _refuse(f"member {member!r} is read by more than one array (amplification)")
            self.read.add(member)
            check_npy_member(self.archive, member)
            return []
        if kind == "json":
            content, shape = node.get("content"), node.get("shape")
            if not isinstance(content, list) or not isinstance(shape, dict):
                raise _refuse("an object array lacks its items or shape")
            return [*((item, child) for item in content), (shape, child)]
        raise _refuse(f"an array has an unknown storage type {kind!r}")


def _rewrite_legacy(schema: Any) -> int:
    """Point :data:`LEGACY_TYPES` paths in ``schema`` at today's modules, in place; count them."""
    legacy: dict[tuple[Any, Any], str] = {}
    for old, new in LEGACY_TYPES.items():
        module, cls = old.rsplit(".", 1)
        legacy[module, cls] = new.rsplit(".", 1)[0]
    count, stack = 0, [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            key = (item.get("__module__"), item.get("__class__"))
            if all(isinstance(k, str) for k in key) and key in legacy:
                item["__module__"] = legacy[key]
                count += 1
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def _may_hold_legacy(raw: bytes) -> bool:
    """Whether a schema's text may name a :data:`LEGACY_TYPES` module (an escape could hide one)."""
    return b"\\u" in raw or any(old.rsplit(".", 1)[0].encode() in raw for old in LEGACY_TYPES)


def _read_schema(archive: zipfile.ZipFile) -> tuple[dict[str, Any], bytes]:
    try:
        raw = archive.read("schema.json")
        schema = json.loads(raw)
    except (ValueError, RecursionError, zipfile.BadZipFile, OSError, EOFError) as err:
        raise _refuse(f"its schema.json is not readable JSON ({type(err).__name__})") from err
    if not isinstance(schema, dict):
        raise _refuse("its schema.json is not an object")
    protocol = schema.get("protocol")
    if isinstance(protocol, bool) or protocol not in SKOPS_PROTOCOLS:
        raise _refuse(f"it uses skops protocol {protocol!r}; gmm_hub reads protocol {SKOPS_PROTOCOLS}")
    return schema, raw


def audit_archive(archive: zipfile.ZipFile) -> tuple[dict[str, Any], int]:
    """Read, upgrade (:data:`LEGACY_TYPES`) and walk an open archive's ``schema.json``.

    Returns
    -------
    schema : dict
        The audited schema, legacy paths pointing at today's modules.
    legacy : int
        How many legacy paths were rewritten.
    """
    schema, raw = _read_schema(archive)
    legacy = _rewrite_legacy(schema) if _may_hold_legacy(raw) else 0  # a walk of every node saved
    _Walk(archive).run(schema)
    return schema, legacy


def with_schema(archive: zipfile.ZipFile, schema: dict[str, Any]) -> bytes:
    """A copy of ``archive`` whose ``schema.json`` is ``schema``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in archive.infolist():
            body = json.dumps(schema).encode() if info.filename == "schema.json" else archive.read(info)
            dst.writestr(info.filename, body)
    return out.getvalue()


def audit_skops(data: bytes, *, recorded_unpacked: int | None = None) -> bytes:
    """Check a serialised skops model before anything in it is read by skops or built.

    Parameters
    ----------
    data : bytes
        The content of a ``.skops`` file.
    recorded_unpacked : int, default=None
        Its total decompressed size as recorded in ``config.json``.

    Returns
    -------
    data : bytes
        The file to give skops: ``data`` itself, or a copy whose legacy type
        paths (:data:`LEGACY_TYPES`) point at today's modules.

    Raises
    ------
    UntrustedModelError
        Naming every type that is not on gmm_hub's lists.
    BundleError
        If the file is not a readable skops file or breaks a bound.
    """
    with open_archive(data, recorded_unpacked=recorded_unpacked) as archive:
        schema, legacy = audit_archive(archive)
        return with_schema(archive, schema) if legacy else data
