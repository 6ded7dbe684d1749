"""huggingface_hub's ``ModelHubMixin`` convention for gmm_hub bundles: :class:`GMMHubModel`.

``GMMHubModel.from_pretrained("user/repo")`` is ``gmm_hub.load("user/repo")``
wrapped in the mixin, ``save_pretrained`` writes a bundle and ``push_to_hub``
sends one with :func:`gmm_hub.push` (verified, one commit, optional tag). The
wrapper exists so :class:`~gmm_hub.Predictor` itself does not import
huggingface_hub.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from huggingface_hub import ModelHubMixin

from .. import _constants as C
from ..bundle._checks import read_config, safe_member
from ..bundle._config import build_config
from ..bundle._io import load, looks_like_path, save
from ..bundle._predictor import Predictor
from ..exceptions import InvalidInputError
from ._transfer import pull, push

__all__ = ["GMMHubModel"]

logger = logging.getLogger(__name__)


class GMMHubModel(
    ModelHubMixin,
    library_name=C.LIBRARY_NAME,
    pipeline_tag=C.TASK,
    tags=["gmm_hub", "sklearn", "skops", "tabular-classification"],
):
    """A loaded bundle with huggingface_hub's ``ModelHubMixin`` methods.

    ``from_pretrained`` loads a bundle directory or repo id through
    :func:`pull` and :func:`gmm_hub.load` (same checks);
    ``save_pretrained`` writes a bundle; ``push_to_hub`` writes one to a
    temporary directory and sends it with :func:`push`.

    Parameters
    ----------
    model : Predictor or fitted estimator
        What ``gmm_hub.load`` returned, or a fitted classifier/pipeline.

    Attributes
    ----------
    predictor : Predictor
        The wrapped predictor (``predict``, ``predict_proba``, ``config``).

    Examples
    --------
    >>> model = GMMHubModel.from_pretrained("alice/bc-gmm", revision="v1")  # doctest: +SKIP
    >>> model.predict(X)  # doctest: +SKIP
    """

    def __init__(self, model: Any) -> None:
        self.predictor = model if isinstance(model, Predictor) else Predictor(model, build_config(model))

    def predict(self, X: Any) -> Any:
        """Class labels for ``X`` (see :meth:`Predictor.predict`)."""
        return self.predictor.predict(X)

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities for ``X`` (see :meth:`Predictor.predict_proba`)."""
        return self.predictor.predict_proba(X)

    @property
    def classes_(self) -> Any:
        """Class labels in :meth:`predict_proba` column order."""
        return self.predictor.classes_

    @property
    def config(self) -> dict[str, Any]:
        """The bundle's ``config.json`` content."""
        return self.predictor.config

    def _save_pretrained(self, save_directory: Path) -> None:
        source = self.predictor.path.parent if self.predictor.path is not None else None
        if source is not None and (source / C.CONFIG_FILE).is_file() and read_config(source) == self.config:
            staged = source  # the bundle it was loaded from (a local directory or a cache snapshot)
        else:
            from ..card._render import write_card

            tmp = Path(tempfile.mkdtemp(prefix=".gmm_hub-save-", dir=save_directory))
            staged = save(
                self.predictor.model,
                tmp / "bundle",
                metrics=self.config.get("metrics"),
                dataset=self.config.get("dataset"),
            )
            write_card(staged)
        try:
            for name in [C.CONFIG_FILE, *read_config(staged)["files"]]:
                shutil.copyfile(safe_member(staged, name), safe_member(save_directory, name))
        finally:
            if staged is not source:
                shutil.rmtree(staged.parent, ignore_errors=True)

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        allow_pickle: bool = False,
        trust_remote_pickle: str | None = None,
        **unused: Any,
    ) -> GMMHubModel:
        if unused:
            logger.debug("ignoring config keys %s", sorted(unused))
        if os.path.isdir(model_id) or looks_like_path(model_id):  # a path-like id is never looked up on the Hub
            return cls(load(model_id, allow_pickle=allow_pickle))
        # allow_pickle never applies to a download: only an opt-in that names this repo does
        remote_pickle = trust_remote_pickle is not None and trust_remote_pickle == model_id
        path = pull(
            model_id,
            revision=revision,
            token=token if isinstance(token, str) else None,
            cache_dir=cache_dir,
            force_download=force_download,
            local_files_only=local_files_only,
            allow_pickle=remote_pickle,
        )
        return cls(load(path, allow_pickle=remote_pickle))

    def push_to_hub(
        self,
        repo_id: str,
        *,
        config: Any = None,
        commit_message: str | None = None,
        private: bool | None = None,
        token: str | None = None,
        branch: str | None = None,
        create_pr: bool | None = None,
        tag: str | None = None,
        **unsupported: Any,
    ) -> str:
        """Save to a temporary directory and :func:`push` it; returns the commit URL.

        ``allow_patterns``/``ignore_patterns``/``delete_patterns`` are not
        supported: a bundle is always pushed whole.
        """
        given = sorted(k for k, v in unsupported.items() if v is not None and k != "model_card_kwargs")
        if given:
            raise InvalidInputError(f"push_to_hub does not support {', '.join(given)}: a bundle is pushed whole.")
        with tempfile.TemporaryDirectory(prefix="gmm_hub-push-") as tmp:
            self.save_pretrained(tmp)
            return push(
                tmp,
                repo_id,
                private=bool(private),
                revision=branch,
                tag=tag,
                commit_message=commit_message,
                token=token,
                create_pr=bool(create_pr),
            )
