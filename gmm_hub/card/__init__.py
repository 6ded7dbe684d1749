"""Card: the Hugging Face model card (README.md) of a bundle.

:func:`write_card` renders the card from a bundle's ``config.json`` alone,
through a template (``model_cards/default.md`` is the installed default),
and draws its plots; :func:`render_card` returns the text without writing.
"""

from ._render import default_template_path, render_card, write_card

__all__ = ["default_template_path", "render_card", "write_card"]
