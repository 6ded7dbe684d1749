"""Build an audited ``model.skops`` straight from its zip, without importing skops.io.

``import skops.io`` lists every scikit-learn estimator (its default trust),
which imports some 240 modules, and dask and pytest when they are installed:
most of a cold ``gmm_hub.load``. A bundle that :func:`._trust.audit_skops`
passed holds only ten kinds of skops node, all of gmm_hub's allowlist, so
:func:`build` constructs them itself, mirroring skops' protocol-2 node
classes (``skops/io/_general.py`` and ``_numpy.py``) step for step:

- the tree is resolved first, in the order of skops' ``get_tree``: the first
  node with a given truthy ``__id__`` stands for every later one, whose
  subtree is never visited; nothing is imported or built yet;
- then the root is constructed as skops' ``Node.construct`` does, each node
  once and lazily (a dict builds only the values its key types pair with),
  with the same calls: ``cls.__new__`` then ``__setstate__`` (or
  ``__dict__.update``) for objects, ``np.load(..., allow_pickle=False)`` for
  arrays, ``type(key)`` for dict keys.

So the objects are the ones ``skops.io.loads(data, trusted=trusted_types())``
builds (``tests/bundle/test_reader.py`` compares them byte for byte). The
reader checks every type again before importing it (a class only when it is
on :data:`._trust.OBJECT_TYPES`), so it never builds anything off the list
even if called on an unaudited schema; anything unexpected raises
:class:`UnsupportedNode`, never a fallback to a laxer path. skops.io still
writes every bundle and reads any protocol this module does not model.

:func:`load_skops` is the one entry point: audit, build (this reader, or
``skops.io.loads`` with ``reader="skops"``), then :mod:`._validate`.
"""

from __future__ import annotations

import importlib
import io
import json
import zipfile
from typing import Any

from ..exceptions import BundleError, GMMHubError, InvalidInputError, UntrustedModelError
from ._archive import open_archive
from ._trust import (
    _CONTAINERS,
    _FIXED,
    ARRAY_TYPES,
    TYPE_TYPES,
    audit_archive,
    is_trusted_object,
    names_of,
    trusted_types,
    with_schema,
)

__all__ = ["READERS", "READER_PROTOCOLS", "UnsupportedNode", "build", "load_skops"]

#: skops protocols whose node semantics :func:`build` mirrors.
READER_PROTOCOLS = (2,)


class UnsupportedNode(ValueError):
    """A schema node this reader does not build (the audit should have refused it)."""


_UNBUILT = object()


class _Node:
    """One resolved schema node: its state, its resolved children, and what it built."""

    __slots__ = ("children", "loader", "name", "state", "value")

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        # skops' Node.__init__ reads these two keys first: a missing one fails the same way
        self.name = f"{state['__module__']}.{state['__class__']}"
        self.loader: str = state["__loader__"]
        self.children: Any = None
        self.value: Any = _UNBUILT


def _import(name: str) -> Any:
    """``skops.io._utils.gettype`` for a checked ``module.Name``."""
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(module), attr)


class _Tree:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.memo: dict[int, _Node] = {}

    def resolve(self, state: dict[str, Any]) -> _Node:
        """skops' ``get_tree``: memoised by ``__id__``, children resolved in its order."""
        saved_id = state.get("__id__")
        if saved_id in self.memo:
            return self.memo[saved_id]
        node = _Node(state)
        if saved_id:
            self.memo[saved_id] = node
        loader, resolve = node.loader, self.resolve
        if loader == "ObjectNode":
            content = state.get("content")
            node.children = None if content is None else resolve(content)
        elif loader == "DictNode":
            key_types = resolve(state["key_types"])
            node.children = (key_types, {key: resolve(value) for key, value in state["content"].items()})
        elif loader in ("ListNode", "TupleNode"):
            node.children = [resolve(value) for value in state["content"]]
        elif loader == "NdArrayNode":
            if state["type"] == "numpy":
                node.children = state["file"]
            elif state["type"] == "json":
                node.children = ([resolve(item) for item in state["content"]], resolve(state["shape"]))
            else:
                raise UnsupportedNode(f"an array has the unknown storage type {state['type']!r}")
        elif loader == "SliceNode":
            content = state["content"]
            node.children = (content["start"], content["stop"], content["step"])
        elif loader in ("DTypeNode", "RandomStateNode"):
            node.children = resolve(state["content"])
        elif loader == "JsonNode":
            node.children = state["content"]
        elif loader != "TypeNode":
            raise UnsupportedNode(f"gmm_hub does not build {loader} nodes ({node.name})")
        return node

    def construct(self, node: _Node) -> Any:
        """skops' ``Node.construct``: each node is built once."""
        if node.value is _UNBUILT:
            node.value = self._construct(node)
        return node.value

    def _construct(self, node: _Node) -> Any:
        loader, name, children, construct = node.loader, node.name, node.children, self.construct
        expected = _CONTAINERS.get(loader) or _FIXED.get(loader)
        if expected is not None and name != expected:
            raise UnsupportedNode(f"a {loader} claims to build {name}, not {expected}")
        if loader == "ObjectNode":
            if not is_trusted_object(name):
                raise UnsupportedNode(f"{name} is not on gmm_hub's list of estimators")
            cls = _import(name)
            instance = cls.__new__(cls)
            if children is None:
                return instance
            attrs = construct(children)
            if attrs is not None:
                if hasattr(instance, "__setstate__"):
                    instance.__setstate__(attrs)
                else:
                    instance.__dict__.update(attrs)
            return instance
        if loader == "DictNode":
            key_types_node, content = children
            built: dict[Any, Any] = {}
            key_types = construct(key_types_node)
            # not strict: as in skops, values beyond the key types are dropped (and never built)
            for k_type, (key, value) in zip(key_types, content.items(), strict=False):
                if not isinstance(k_type, type):
                    raise UnsupportedNode(f"a dict key type is a {type(k_type).__name__}, not a type")
                built[k_type(key)] = construct(value)
            return built
        if loader == "ListNode":
            return [construct(item) for item in children]
        if loader == "TupleNode":
            return tuple(construct(item) for item in children)
        if loader == "JsonNode":
            return json.loads(children)
        if loader == "TypeNode":
            if name not in names_of(TYPE_TYPES):
                raise UnsupportedNode(f"{name} is not on gmm_hub's list of types")
            return _import(name)
        if loader == "NdArrayNode":
            return self._array(node)
        if loader == "SliceNode":
            return slice(*children)
        if loader == "DTypeNode":
            return construct(children).dtype
        # RandomStateNode
        random_state = _import(name)()
        random_state.set_state(construct(children))
        return random_state

    def _array(self, node: _Node) -> Any:
        import numpy as np

        if node.name not in names_of(ARRAY_TYPES):
            raise UnsupportedNode(f"{node.name} is not on gmm_hub's list of array types")
        if isinstance(node.children, str):  # stored in numpy's own format
            content = np.load(io.BytesIO(self.archive.read(node.children)), allow_pickle=False)
            if node.name != "numpy.ndarray":
                content = _import(node.name)(content)
            return content
        items, shape_node = node.children
        shape = self.construct(shape_node)
        values = [self.construct(item) for item in items]
        if len(shape) == 1:
            content = np.ndarray(shape=len(values), dtype="O")
            for i, value in enumerate(values):
                content[i] = value
            return content
        return np.array(values, dtype="O")


def build(schema: dict[str, Any], archive: zipfile.ZipFile) -> Any:
    """Construct the object an audited skops ``schema`` describes, reading arrays from ``archive``.

    Parameters
    ----------
    schema : dict
        The parsed ``schema.json``, already checked by :func:`._trust.audit_skops`.
    archive : zipfile.ZipFile
        The open skops archive it came from.

    Returns
    -------
    obj : object
        What ``skops.io.loads`` builds from the same file.

    Raises
    ------
    UnsupportedNode
        For a protocol, node kind or type this reader does not build.
    """
    protocol = schema.get("protocol")
    if isinstance(protocol, bool) or protocol not in READER_PROTOCOLS:
        raise UnsupportedNode(f"skops protocol {protocol!r} is not one this reader models {READER_PROTOCOLS}")
    tree = _Tree(archive)
    return tree.construct(tree.resolve(schema))


def _not_built(err: Exception) -> BundleError:
    return BundleError(
        f"the model file could not be deserialised ({type(err).__name__}: {str(err)[:200]}); "
        "it may be damaged or written by an incompatible skops version."
    )


def _skops_loads(data: bytes) -> object:
    """Build with ``skops.io.loads`` and skops' own audit, under gmm_hub's list."""
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return skops.io.loads(data, trusted=list(trusted_types()))
    except UntrustedTypesFoundException as err:  # defence in depth: skops' own audit
        raise UntrustedModelError(f"refusing to load: {err}") from err
    except GMMHubError:
        raise
    except Exception as err:  # a well-formed tree that still does not build
        raise _not_built(err) from err


#: Who builds an audited file: gmm_hub's own reader of the allowlisted nodes, or skops.io.
READERS = ("gmm_hub", "skops")


def load_skops(data: bytes, *, recorded_unpacked: int | None = None, reader: str = "gmm_hub") -> object:
    """Audit ``data`` as :func:`._trust.audit_skops` does, construct it, and check what was built.

    Parameters
    ----------
    data : bytes
        The content of a ``.skops`` file.
    recorded_unpacked : int, default=None
        Its total decompressed size as recorded in ``config.json``.
    reader : {"gmm_hub", "skops"}, default="gmm_hub"
        ``"gmm_hub"`` builds the audited nodes with :func:`build`
        (no ``import skops.io``: it lists every scikit-learn estimator, the
        larger part of a cold load); ``"skops"`` with ``skops.io.loads``,
        which also runs skops' audit. Both build the same objects; a file of
        a protocol the reader does not model always goes to skops.

    Returns
    -------
    obj : object
        The deserialised estimator, with side-effect settings reset
        (:func:`gmm_hub.bundle._validate.validate_model`).

    Raises
    ------
    UntrustedModelError, BundleError
        As :func:`._trust.audit_skops`, or if what was built is inconsistent.
    InvalidInputError
        If ``reader`` is not one of :data:`READERS`.
    """
    from ._validate import validate_model

    if reader not in READERS:
        raise InvalidInputError(f"reader must be one of {READERS}, got {reader!r}")
    with open_archive(data, recorded_unpacked=recorded_unpacked) as archive:
        schema, legacy = audit_archive(archive)
        if reader == "gmm_hub" and schema["protocol"] in READER_PROTOCOLS:
            try:
                obj = build(schema, archive)
            except GMMHubError:
                raise
            except Exception as err:  # a well-formed tree that still does not build
                raise _not_built(err) from err
            return validate_model(obj)
        if legacy:
            data = with_schema(archive, schema)
    return validate_model(_skops_loads(data))
