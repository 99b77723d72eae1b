"""Filters for the plain-text part of emails, so that it reads well on its own: what people wrote (Markdown)
with mentions as names and links written out whole, indented under the line that introduces it, and cut, when
it must be, at a space, never inside a link."""

from __future__ import annotations

import re

from django import template

register = template.Library()

# [text](url "title") and ![alt](url); the url may hold balanced parentheses
_LINK = re.compile(r"!?\[([^\]\n]*)\]\(((?:[^\s()]|\([^\s()]*\))+)(?:\s+\"[^\"]*\")?\)")
_SCHEMES = ("http://", "https://", "mailto:")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")


def _names(text: str, mentions: dict) -> str:
    """Each @handle that `mentions` names (the writer of the event found them: tasks.services.mentions, which
    notifications does not import) as "@Full Name"; the longest handle first, so "@sam@other.test" is one."""
    if not mentions or "@" not in text:
        return text
    handles = sorted(mentions, key=len, reverse=True)
    pattern = re.compile("@(" + "|".join(re.escape(h) for h in handles) + r")(?![\w@+-])", re.IGNORECASE)
    return pattern.sub(lambda m: "@" + mentions[m.group(1).lower()][0], text)


@register.filter
def email_plain(text, mentions=None) -> str:
    """Markdown source as plain text: @handles of `mentions` (handle -> [name, url], the row's context) as
    "@Full Name", [text](url) as "text (url)" (the link whole, on its own), bold markers dropped. Lists,
    quotes and line breaks are kept as written: Markdown is made to read as text."""
    out = _names(str(text or ""), mentions or {})

    def link(match: re.Match) -> str:
        words, url = match.group(1).strip(), match.group(2)
        if not url.lower().startswith(_SCHEMES):  # the page's sanitiser drops these links too (javascript:, data:)
            return words
        return url if not words or words == url else f"{words} ({url})"

    out = _LINK.sub(link, out)
    return _STRONG.sub(r"\2", out)


@register.filter
def indent(text, width=2) -> str:
    """Every line of `text` indented by `width` spaces (blank lines left empty), the first included."""
    pad = " " * int(width)
    return "\n".join(pad + line if line.strip() else "" for line in str(text or "").splitlines())


@register.filter
def shorten(text, length=300) -> str:
    """At most `length` characters, cut at the last space before the limit (so a link is never cut in two),
    with "…" when something was left out."""
    text, length = str(text or "").rstrip(), int(length)
    if len(text) <= length:
        return text
    cut = text[:length]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    return (cut[:space] if space > 0 else cut).rstrip() + " …"
