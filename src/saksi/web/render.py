"""HTML of the website's pages: Jinja templates with autoescaping, one language each."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from saksi.web.i18n import format_count, format_percent, words

__all__ = ["Renderer"]

_KEPT = ("lang", "contest", "source")  # query parameters every internal link carries on


class Renderer:
    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("saksi.web", "templates"),
            autoescape=select_autoescape(("html",)),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(
        self, template: str, lang: str, query: dict[str, str], path: str, **context: Any
    ) -> bytes:
        # The language as resolved, not as asked: an unknown ?lang= must not ride along in
        # the links of a page that the cache then serves to every reader.
        kept = {k: v for k, v in query.items() if k in _KEPT and k != "lang" and v}
        if lang != "id":
            kept["lang"] = lang

        def url(target: str, **override: str | None) -> str:
            params = {**kept, **override}
            clean = {k: v for k, v in params.items() if v}
            return target + ("?" + urlencode(clean) if clean else "")

        other = "en" if lang == "id" else "id"
        return (
            self.env.get_template(template)
            .render(
                w=words(lang),
                lang=lang,
                n=lambda value: format_count(value, lang),
                pct=lambda value: format_percent(value, lang),
                url=url,
                switch_url=url(path, lang=other if other == "en" else None),
                json_url=url(_data_path(path, ".json"), lang=None),
                csv_url=url(_data_path(path, ".csv"), lang=None),
                query=kept,
                **context,
            )
            .encode()
        )


def _data_path(path: str, suffix: str) -> str:
    """The same page's data: ``/`` is ``/.json``; ``/region/31`` is ``/region/31.json``."""
    return path + suffix
