"""The public face of the package: what `import gmm_hub` exposes and costs."""

import subprocess
import sys

import pytest

import gmm_hub

HEAVY = ["huggingface_hub", "datasets", "matplotlib", "jinja2", "skops", "click", "imblearn"]


def test_import_does_not_load_heavy_modules():
    code = f"import sys, gmm_hub; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(set(gmm_hub.__all__) - {"__version__"}))
def test_public_name_resolves(name):
    assert getattr(gmm_hub, name) is not None
    assert name in dir(gmm_hub)


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gmm_hub.nope  # noqa: B018


def test_errors_are_builtin_subclasses():
    from gmm_hub import exceptions as E

    assert issubclass(E.InvalidInputError, ValueError)
    assert issubclass(E.SchemaError, ValueError)
    assert issubclass(E.UntrustedModelError, TypeError)
    assert all(issubclass(getattr(E, n), E.GMMHubError) for n in E.__all__)
