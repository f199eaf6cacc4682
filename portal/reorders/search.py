"""Finding reorder requests by a piece of text: one condition, written for each database.

Every request keeps ``search_text`` (reference, order name, email, customer name and tracking
numbers, lower case; see ``ReorderRequest``). ``text_search(words)`` is true for the requests
whose ``search_text`` contains ``words``:

- on PostgreSQL, ``search_text LIKE '%words%'``, answered by the trigram GIN index
  ``ix_reorder_requests_search_trgm`` (pg_trgm);
- on SQLite, a phrase query on the FTS5 table ``reorder_search`` (trigram tokenizer, kept by
  triggers), whose rows are the requests' ids.

Both need at least three characters to use their index; callers refuse shorter text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import NullType

from portal.db import SEARCH_TABLE, escape_like
from portal.reorders.models import ReorderRequest


class TextSearch(ColumnElement[bool]):
    """``search_text`` contains the words (see the module docstring for each database)."""

    type = NullType()  # type: ignore[assignment]  # as written: SQLite would add "= 1"
    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's cache key reads this class list)
        ("search_text", InternalTraversal.dp_clauseelement),
        ("request_id", InternalTraversal.dp_clauseelement),
        ("like_pattern", InternalTraversal.dp_clauseelement),
        ("phrase", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, words: str) -> None:
        # the columns are children, so a query over a subquery of the table can adapt them
        self.search_text: ColumnElement[str] = ReorderRequest.__table__.c.search_text
        self.request_id: ColumnElement[int] = ReorderRequest.__table__.c.id
        self.like_pattern: BindParameter[str] = bindparam(
            None, f"%{escape_like(words)}%", unique=True
        )
        self.phrase: BindParameter[str] = bindparam(
            None, '"' + words.replace('"', '""') + '"', unique=True
        )


def text_search(words: str) -> ColumnElement[bool]:
    return TextSearch(words)


@compiles(TextSearch, "postgresql")
def _on_postgresql(element: TextSearch, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.search_text, **kw)
    return f"({column} LIKE {compiler.process(element.like_pattern, **kw)} ESCAPE '\\')"


@compiles(TextSearch)
def _on_sqlite(element: TextSearch, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.request_id, **kw)
    phrase = compiler.process(element.phrase, **kw)
    table = SEARCH_TABLE  # a constant name; the words are a bound parameter
    return f"({column} IN (SELECT rowid FROM {table} WHERE {table} MATCH {phrase}))"  # noqa: S608
