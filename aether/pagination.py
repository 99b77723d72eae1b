"""Keyset ("cursor") pagination for every list of the API: every page costs what the first does.

A list pages along one of its orderings (`KeysetOrdering`): a few keys, the last of them the id, all in one
direction. A page is `WHERE (k1, ..., id) > (the last row's values) ORDER BY k1, ..., id LIMIT n + 1`: one
range of an index on those keys, however deep the page (an OFFSET would read and drop every row before it:
0.5 to 1.6 s at page 110 of a million tasks). The extra row tells whether there is a next page; no total is
counted.

`?cursor=` is opaque: signed (a cursor this site did not give is a 400) and bound to the person and the
ordering it was made for. `next` and `previous` are links with their cursors; `previous` pages backwards
from the first row of the page (the reversed comparison and order, then the rows turned round). Rows
written or removed between two requests never make a page repeat or skip a row that did not move: a page
starts strictly after the last row the previous one showed, by value, wherever that row is now.

A key that may be NULL sorts as a stated value (`null`): the key is then COALESCE(column, value), which an
index on that expression serves, and NULLs keep their place (after every date ascending, before them
descending, as PostgreSQL sorts them).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core import signing
from django.db.models import BooleanField, DateField, Expression, F, Func
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

SALT = "aether.api.page-cursor"
_CASTS = {"int": "bigint", "date": "date", "datetime": "timestamptz", "text": "text", "float": "double precision"}


@dataclass(frozen=True)
class Key:
    """One key of an ordering: `attr` is the row attribute holding its value (a field or an annotation);
    `expression` what is ordered by (default the field `attr`); `kind` how its value is written in a cursor;
    `null` the SQL literal a NULL sorts as (the key is then COALESCE(attr, null))."""

    attr: str
    kind: str = "int"
    expression: Any = None
    null: str | None = None

    def sql(self):
        if self.expression is not None:
            return self.expression
        if self.null is not None:
            return Func(F(self.attr), template=f"COALESCE(%(expressions)s, {self.null})", output_field=DateField())
        return F(self.attr)

    def dump(self, value):
        if value is None:
            return None
        if self.kind in ("date", "datetime"):
            return value.isoformat()
        return value

    def load(self, value):
        if value is None:
            if self.null is None:
                raise ValueError(self.attr)
            return self.null.split("::")[0].strip("'")  # the literal's text ('infinity'), cast in SQL
        if self.kind == "date":
            return date.fromisoformat(value)
        if self.kind == "datetime":
            return datetime.fromisoformat(value)
        if self.kind == "float":
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if self.kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValueError(value)
        if self.kind == "text" and not isinstance(value, str):
            raise ValueError(value)
        return value


ID = Key("id")


@dataclass(frozen=True)
class KeysetOrdering:
    """`name` identifies it in cursors; `keys` end with the id; `descending` is the direction of all of them."""

    name: str
    keys: tuple[Key, ...] = field(default=(ID,))
    descending: bool = False


class RowCompare(Expression):
    """`(e1, e2, ...) <op> (%s::t1, %s::t2, ...)`: PostgreSQL's row comparison, which a B-tree on those
    expressions answers as one range."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, keys: tuple[Key, ...], op: str, values: list):
        super().__init__()
        self.keys, self.op, self.values = keys, op, values
        self.expressions = [k.sql() for k in keys]

    def get_source_expressions(self):
        return self.expressions

    def set_source_expressions(self, exprs):
        self.expressions = exprs

    def as_sql(self, compiler, connection):
        parts, params = [], []
        for expression in self.expressions:
            sql, p = compiler.compile(expression)
            parts.append(sql)
            params.extend(p)
        placeholders = [f"%s::{_CASTS[k.kind]}" for k in self.keys]
        return f"({', '.join(parts)}) {self.op} ({', '.join(placeholders)})", [*params, *self.values]


class KeysetPagination(BasePagination):
    """`?cursor=…&page_size=M` (at most 100), answered as {"next", "previous", "results"}. The view names its
    ordering: `keyset_ordering(request)` (the task list: the one asked for), else the `keyset` attribute."""

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    default_page_size = 25
    max_page_size = 100

    def ordering_of(self, view, request) -> KeysetOrdering:
        if hasattr(view, "keyset_ordering"):
            return view.keyset_ordering(request)
        return view.keyset

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.ordering = ordering = self.ordering_of(view, request)
        self.page_size = self._page_size(request)
        backward, values = self._cursor(request)
        keys = ordering.keys
        descending = ordering.descending != backward
        exprs = [k.sql() for k in keys]
        queryset = queryset.order_by(*[e.desc() if descending else e.asc() for e in exprs])
        if values is not None:
            queryset = queryset.filter(RowCompare(keys, "<" if descending else ">", values))
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if backward:
            rows.reverse()
            self.has_previous, self.has_next = more, True
        else:
            self.has_previous, self.has_next = values is not None and bool(rows), more
        self.rows = rows
        return rows

    def _page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return self.default_page_size
        try:
            size = int(raw)
        except (TypeError, ValueError):
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"Give a whole number from 1 to {self.max_page_size}."]}
            )
        return size

    def _cursor(self, request) -> tuple[bool, list | None]:
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None:
            return False, None
        bad = exceptions.ValidationError(
            {self.cursor_query_param: ["This is not a cursor of this list: follow `next` or `previous` as given."]}
        )
        try:
            payload = signing.Signer(salt=SALT).unsign_object(raw)
            user, name, direction, values = payload["u"], payload["o"], payload["d"], payload["v"]
        except (signing.BadSignature, ValueError, TypeError, KeyError, UnicodeError):
            raise bad from None
        keys = self.ordering.keys
        if user != request.user.pk or name != self.ordering.name or direction not in ("n", "p"):
            raise bad
        try:
            if not isinstance(values, list) or len(values) != len(keys):
                raise ValueError(values)
            loaded = [key.load(value) for key, value in zip(keys, values, strict=True)]
        except (ValueError, TypeError):
            raise bad from None
        return direction == "p", loaded

    def _link(self, row, direction: str) -> str:
        values = [key.dump(getattr(row, key.attr)) for key in self.ordering.keys]
        payload = {"u": self.request.user.pk, "o": self.ordering.name, "d": direction, "v": values}
        cursor = signing.Signer(salt=SALT).sign_object(payload, compress=True)
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, cursor)

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        if not self.rows:  # a page before which every row is gone: start again
            return remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        return self._link(self.rows[-1], "n")

    def get_previous_link(self) -> str | None:
        if not self.has_previous or not self.rows:
            return None
        return self._link(self.rows[0], "p")

    def get_paginated_response(self, data):
        return Response(
            OrderedDict([("next", self.get_next_link()), ("previous", self.get_previous_link()), ("results", data)])
        )

    def get_paginated_response_schema(self, schema):
        link = {
            "type": ["string", "null"],
            "format": "uri",
            "description": "The next (or previous) page's URL, with its cursor; null at the end.",
        }
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "in": "query",
                "required": False,
                "description": "Where the page starts: the cursor of a `next` or `previous` link, as given (opaque).",
                "schema": {"type": "string", "minLength": 1, "maxLength": 2000},
            },
            {
                "name": self.page_size_query_param,
                "in": "query",
                "required": False,
                "description": f"Rows per page (default {self.default_page_size}, at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
