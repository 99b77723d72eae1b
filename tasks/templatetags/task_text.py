"""What people write, shown safely: Markdown for descriptions and comments, highlighted search snippets.

`{{ text|markdown }}` is the one way a description or a comment body becomes HTML, on the task page and in
the emails that quote a comment. markdown-it-py (CommonMark, maintained by the executable-books project)
parses with raw HTML switched off, and nh3 (the Rust ammonia sanitiser) then keeps only the tags and
attributes below, so whatever a parser bug or a crafted link lets through, no script, style, event handler or
`javascript:` URL reaches the page. Links get rel="nofollow noopener".
"""

from __future__ import annotations

import functools
import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@functools.cache
def markdown_parser():
    """Built on first use: markdown-it with its linkify tables is 3 MB that a process serving only the API,
    the board or an export never needs (this module is imported with the search view's URL)."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True, "typographer": False}).enable(
        ["linkify", "strikethrough", "table"]
    )
    parser.core.ruler.push("mentions", _link_mentions)
    return parser


# No <img>: an image from elsewhere is a tracking pixel in an email and a CSP violation on the page.
ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol", "p",
    "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


def _link_mentions(state) -> None:
    """A core rule: in the text of each inline run (not inside a link or code), an @handle that
    `env["mentions"]` names becomes a link to that person, written "@Full Name"."""
    from tasks.services.mentions import MENTION

    mentions = state.env.get("mentions") if isinstance(state.env, dict) else None
    if not mentions:
        return
    token_class = type(state.tokens[0]) if state.tokens else None
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        out, depth = [], 0
        for token in block.children:
            depth += {"link_open": 1, "link_close": -1}.get(token.type, 0)
            if token.type != "text" or depth:
                out.append(token)
                continue
            text, last = token.content, 0
            for match in MENTION.finditer(text):
                handle = match.group(1).rstrip(".")
                person = mentions.get(handle.lower())
                if person is None:
                    continue
                name, url = person
                start, end = match.start(), match.start() + 1 + len(handle)
                if start > last:
                    out.append(token_class("text", "", 0, content=text[last:start]))
                out.append(token_class("link_open", "a", 1, attrs={"href": url, "title": f"@{handle}"}))
                out.append(token_class("text", "", 0, content=f"@{name}"))
                out.append(token_class("link_close", "a", -1))
                last = end
            if last == 0:
                out.append(token)
            elif last < len(text):
                out.append(token_class("text", "", 0, content=text[last:]))
        block.children = out


def render_markdown(text: str | None, mentions=None) -> SafeString:
    """Markdown source to sanitised HTML (safe to put in a page or an email as is). `mentions` (handle ->
    (name, url), from tasks.services.mentions.mention_links) makes each of those @mentions a link."""
    if not text:
        return mark_safe("")
    import nh3

    html = markdown_parser().render(text, {"mentions": mentions or {}})
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener",
        strip_comments=True,
    )
    return mark_safe(cleaned)  # noqa: S308 -- sanitised by nh3 just above


@register.filter(name="markdown")
def markdown_filter(text, mentions=None) -> SafeString:
    """`{{ text|markdown }}`, or `{{ text|markdown:mentions }}` with the page's mention links."""
    return render_markdown(str(text) if text is not None else "", mentions)


# --- search snippets ------------------------------------------------------------------------------------

SNIPPET_LENGTH = 180
_SUFFIXES = ("ing", "es", "ed", "s")  # enough to mark "tests" in "testing": the database stems properly


def search_terms(query: str) -> list[str]:
    """The words of a web-search query worth marking: no operators (or, -word), no quotes, shortened to a stem
    so that the forms the database matched are marked too."""
    terms = []
    for raw in re.findall(r"-?[\w']+", query or ""):
        if raw.startswith("-") or raw.lower() == "or":
            continue
        word = raw.lower()
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        if len(word) >= 2 and word not in terms:
            terms.append(word)
    return terms


def _pattern(terms: list[str]) -> re.Pattern | None:
    if not terms:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")\w*", re.I)


def mentions_terms(text: str, query: str) -> bool:
    """Whether `text` visibly contains a word of the query (as the highlighting would mark it)."""
    pattern = _pattern(search_terms(query))
    return bool(pattern and pattern.search(text or ""))


def highlight(text: str, query: str) -> SafeString:
    """`text` escaped, with the query's words wrapped in <mark>."""
    return _highlight(text, _pattern(search_terms(query)))


def _highlight(text: str, pattern: re.Pattern | None) -> SafeString:
    if pattern is None:
        return escape(text)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 -- every piece is escaped


def snippet(texts: list[str], query: str, *, length: int = SNIPPET_LENGTH) -> SafeString:
    """A short passage of the first of `texts` that contains a word of the query, around that word, marked;
    without any, the start of the first non-empty text."""
    return _snippet(texts, _pattern(search_terms(query)), length=length)


def _snippet(texts: list[str], pattern: re.Pattern | None, *, length: int = SNIPPET_LENGTH) -> SafeString:
    texts = [" ".join(t.split()) for t in texts if t and t.strip()]
    if not texts:
        return mark_safe("")
    chosen, position = texts[0], 0
    for text in texts:
        match = pattern.search(text) if pattern else None
        if match:
            chosen, position = text, match.start()
            break
    start = max(0, position - length // 3)
    if start:
        space = chosen.find(" ", start)
        start = space + 1 if 0 <= space < position else start
    end = min(len(chosen), start + length)
    if end < len(chosen):
        space = chosen.rfind(" ", start, end)
        end = space if space > position else end
    body = _highlight(chosen[start:end], pattern)
    return mark_safe(("… " if start else "") + body + (" …" if end < len(chosen) else ""))  # noqa: S308


def plain_text(markdown_source: str | None) -> str:
    """What a reader sees of a Markdown text, as plain text on one line: no `**`, `#` or link syntax (the
    palette's snippets). Rendered and sanitised as the page does it, then every tag dropped."""
    import html

    import nh3

    if not markdown_source:
        return ""
    return " ".join(html.unescape(nh3.clean(str(render_markdown(markdown_source)), tags=set())).split())


def prefix_pattern(words: list[str]) -> re.Pattern | None:
    """Words typed so far (tasks/palette.py palette_words), each marked where a word of the text starts with
    it; a word past its stem ("invoices") marks the shorter forms the database matched ("invoice")."""
    return _pattern(search_terms(" ".join(w for w in words if len(w) > 1)) + [w for w in words if len(w) == 1])


@register.simple_tag
def palette_mark(text: str, words: list[str]) -> SafeString:
    """`text` escaped, the typed words marked."""
    return _highlight(text or "", prefix_pattern(words))


@register.simple_tag
def palette_snippet(text: str, words: list[str]) -> SafeString:
    """A plain-text passage around the first typed word, marked."""
    return _snippet([text], prefix_pattern(words), length=120)


@register.simple_tag
def search_title(task, query) -> SafeString:
    return highlight(task.title, query)


@register.simple_tag
def search_snippet(task, query) -> SafeString:
    """The description passage (or, for a match only in a comment, that comment's) around the query's words."""
    return snippet([task.description, getattr(task, "matched_comment", "")], query)
