"""Hub: bundles to and from a Hugging Face Hub through ``huggingface_hub``.

- :func:`push` verifies a bundle and uploads it in one commit; :func:`pull`
  downloads and checks one (``gmm_hub.load("user/repo")`` uses it);
- :func:`use_endpoint` points this process's client at another Hub;
- :class:`GMMHubModel` offers huggingface_hub's ``ModelHubMixin`` convention.
"""

from ._mixin import GMMHubModel
from ._transfer import pull, push, use_endpoint

__all__ = ["GMMHubModel", "pull", "push", "use_endpoint"]
