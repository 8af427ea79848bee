"""The templates of every public page, with identity numbers masked in whatever they print.

Jinja's ``finalize`` sees every ``{{ expression }}`` before it is escaped and written, so no
value reaches a page without passing ``mask_ids_in_text``: a new field or template cannot
forget it (the JSON bodies get the same from ``api.schemas.PublicBody``)."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from credit_engine.identifiers import mask_ids_in_text


def public_text(value: object) -> object:
    """A printed value with identity numbers masked; numbers and None print as they are."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Markup):
        return Markup(mask_ids_in_text(str(value)))
    return mask_ids_in_text(value if isinstance(value, str) else str(value))


templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.finalize = public_text
