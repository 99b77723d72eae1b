"""Post Django admin forms as a person in a browser would: read the page's form (every input, select and
textarea, inline management forms included) and send it back with a few fields changed."""

from __future__ import annotations

from html.parser import HTMLParser

from django.contrib import messages


class _FormParser(HTMLParser):
    def __init__(self, form_id: str | None):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.depth = 0  # > 0 inside the wanted form
        self.fields: list[tuple[str, str]] = []
        self.select: tuple[str, bool] | None = None  # (name, multiple)
        self.select_values: list[str] = []
        self.select_first: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            if self.depth:
                self.depth += 1
            elif self.form_id is None or a.get("id") == self.form_id:
                self.depth = 1
            return
        if not self.depth:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self.select, self.select_values, self.select_first = (name, "multiple" in a), [], None
        elif tag == "option" and self.select:
            value = a.get("value", "")
            if self.select_first is None:
                self.select_first = value
            if "selected" in a:
                self.select_values.append(value)
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""

    def handle_endtag(self, tag):
        if tag == "form" and self.depth:
            self.depth -= 1
        elif tag == "select" and self.select:
            name, multiple = self.select
            values = self.select_values or ([] if multiple or self.select_first is None else [self.select_first])
            self.fields.extend((name, v) for v in values)
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.fields.append((self.textarea, self.text.removeprefix("\n")))
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.text += data


def form_fields(response, form_id: str | None = None) -> dict[str, str | list[str]]:
    """The fields the page's form (by id, else the first) would send, as a dict for the test client (a field
    with several values, such as a multiple select, is a list)."""
    assert response.status_code == 200, response.status_code
    parser = _FormParser(form_id)
    parser.feed(response.content.decode())
    data: dict[str, str | list[str]] = {}
    for name, value in parser.fields:
        if name in data:
            old = data[name]
            data[name] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            data[name] = value
    return data


def admin_form(client, url: str, form_id: str) -> dict:
    """The change or add form at `url`, as the browser would submit it with "Save"."""
    data = form_fields(client.get(url), form_id)
    data.pop("csrfmiddlewaretoken", None)
    data["_save"] = "Save"
    return data


def messages_of(response) -> list[tuple[str, str]]:
    """(level, text) of the messages the page shows, e.g. ("error", "...")."""
    return [(messages.DEFAULT_TAGS[m.level], str(m)) for m in response.context["messages"]]


def form_errors(response) -> dict:
    """The main form's errors ({field or "__all__": [messages]}) of a re-shown admin change/add page."""
    return {k: list(v) for k, v in response.context["adminform"].form.errors.items()}


def inline_errors(response) -> list[dict]:
    """Each inline row's errors, for every inline of the page, in order."""
    return [
        {k: list(v) for k, v in form.errors.items()}
        for inline in response.context["inline_admin_formsets"]
        for form in inline.formset.forms
    ]
