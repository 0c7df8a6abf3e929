"""Form text made plain for calendar events: no markup, no script links (Google renders an event description as HTML); pure, no I/O."""

from __future__ import annotations

import html
import re

# A tag, a comment or a doctype: anything between < and > that starts like markup.
_TAG = re.compile(r"<[/!?a-zA-Z][^<>]*>?")
# Schemes that run code or smuggle content when a link is followed. Whitespace and control
# characters inside the name are ignored by browsers ("java\tscript:"), so they are here too.
_SCHEME = re.compile(
    r"(?:j\W*a\W*v\W*a\W*|v\W*b\W*)s\W*c\W*r\W*i\W*p\W*t\W*:|\bdata\s*:(?=\s*[a-z]+/[a-z])",
    re.IGNORECASE,
)


def plain_text(text: str) -> str:
    """``'<a href="javascript:alert(1)">Maria</a>'`` → ``'Maria'``.

    Entities are decoded first (``&lt;b&gt;`` is a tag once rendered), then tags are removed,
    then any ``javascript:`` or ``vbscript:`` scheme (and ``data:`` before a media type) is
    removed, until nothing
    changes (``<scr<b>ipt>`` cannot reassemble); stray ``<`` and ``>`` become ``‹`` and ``›``.
    Other text, URLs included, is kept as the citizen typed it.
    """
    out = text
    for _ in range(10):
        before = out
        out = html.unescape(out)
        out = _TAG.sub("", out)
        out = _SCHEME.sub("", out)
        if out == before:
            break
    out = out.replace("<", "‹").replace(">", "›")
    return " ".join(out.split())
