"""Text from data put into a page safely: as JSON in a script, or as a name in folium's layer control.

Both are used by every layer and by the base maps (:mod:`gridmap.maps.tiles`), so they live below them.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

__all__ = ["js_string", "control_label"]

_JINJA_OPEN = re.compile(r"\{(?=[{%#])")


def js_string(value: Any) -> str:
    r"""Return ``value`` as JSON that is safe inside an HTML ``<script>``, keeping Chinese as UTF-8.

    ``<``, ``>`` and ``&`` become ``\u003c`` etc. (so no text can close the script), ``$`` becomes
    ``\u0024`` (so data never looks like jQuery to :func:`to_html`), ``{`` before ``{``, ``%`` or ``#``
    becomes ``\u007b`` (so data is never read as a Jinja template when folium renders the page), and the
    line separators U+2028/9 are escaped. Other characters are written as they are: a Chinese character
    takes 3 bytes, not 6.

    Examples
    --------
    >>> js_string({"name": "翠竹苑</script>"})
    '{"name":"翠竹苑\\u003c/script\\u003e"}'
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("$", "\\u0024"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    # branca renders each script once more as a Jinja template: "{{", "{%" and "{#" in data would be run
    # as template code. JSON itself never writes them outside a string, so escaping them there is enough.
    return _JINJA_OPEN.sub("\\\\u007b", text)


def control_label(name: str) -> str:
    """Return a layer name as folium's layer control may carry it: HTML-escaped, braces as entities.

    Leaflet's layer control shows names as HTML, so ``<`` and ``&`` are escaped; folium writes them into a
    script that branca reads once more as a Jinja template, so ``{`` becomes ``&#123;`` (a name such as
    ``{{7*7}}`` would otherwise be shown as 49, and ``{{ ... }}`` would run Python while the page is made).

    Examples
    --------
    >>> control_label("<b>{{7*7}}</b> & 网格")
    '&lt;b&gt;&#123;&#123;7*7}}&lt;/b&gt; &amp; 网格'
    """
    return html.escape(str(name)).replace("{", "&#123;")
