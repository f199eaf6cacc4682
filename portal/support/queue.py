"""The support queue: which reorder requests an agent sees, oldest first, a page at a time.

Filters arrive as plain strings (a query string) and are parsed here; anything unknown is
dropped, so a bad link shows a wider queue rather than an error.

Every query is split by status. Each status-leading index (``status``, ``store_id, status``,
``assigned_to_id, status``, each followed by ``created_at, id``) then hands back one status's
requests already in queue order, and the page is the merge of those few short index scans. That
keeps "any status" and "open" as fast as a single status, and lets the keyset cursor
``(created_at, id) > (...)`` be an index range on every path: no OFFSET, no sort of the table.

The counts per status come from counters the database keeps per (store, status, assignee)
(``QueueCount``, kept by triggers) whenever the filters are only those; under any other filter
they are counted, up to ``COUNT_CAP`` a status.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Subquery,
    func,
    literal,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.util import ClauseAdapter

from portal.accounts.models import User
from portal.db import MAX_ROW_ID, UtcDateTime
from portal.errors import InvalidCursor
from portal.reorders.models import (
    OPEN_STATUSES,
    IssueType,
    PreferredResolution,
    ReorderRequest,
    RequestStatus,
)
from portal.reorders.search import text_search
from portal.stores.models import Store
from portal.support.models import NOBODY, QueueCount

PAGE_SIZE = 50
# The counts per status under the store and assignee filters are exact, read from the counters
# kept by triggers (``QueueCount``). Under any other filter (issue, resolution, age, search,
# risk) they are counted, and above this many requests of one status the summary says
# "1,000+": counting stops there, so it costs at most this many index entries per status,
# however large the table grows.
COUNT_CAP = 1_000
AGE_CHOICES = (1, 3, 7, 14, 30)
MAX_SEARCH_LENGTH = 320
MAX_CURSOR_LENGTH = 120

ANY = "any"
OPEN = "open"
STATUS_CHOICES = (OPEN, ANY, *(s.value for s in RequestStatus))
DEFAULT_STATUS = OPEN

_REFERENCE = re.compile(r"RR-[0-9A-Z]{6}", re.IGNORECASE)
_ORDER_NUMBER = re.compile(r"#?([0-9]{1,7})")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)
MIN_TEXT_LENGTH = 3  # a trigram: shorter text cannot use the search index
_CURSOR = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_CURSOR_LENGTH}}}")

E = TypeVar("E", bound=StrEnum)


class Assignment(StrEnum):
    ME = "me"
    UNASSIGNED = "unassigned"


class SearchKind(StrEnum):
    REFERENCE = "reference"
    ORDER = "order"
    EMAIL = "email"
    TEXT = "text"  # part of a name, an email, a reference, an order or a tracking number
    UNRECOGNIZED = "unrecognized"  # too short to search for


@dataclass(frozen=True)
class Search:
    kind: SearchKind
    value: str
    text: str  # what was typed, to show it back


@dataclass(frozen=True)
class QueueFilters:
    """What the agent asked for; every field is already valid (or None for "any")."""

    status: str = DEFAULT_STATUS  # one of STATUS_CHOICES
    store_id: int | None = None
    issue_type: IssueType | None = None
    resolution: PreferredResolution | None = None
    older_than_days: int | None = None
    assignment: Assignment | None = None
    search: Search | None = None
    risky: bool = False  # only requests with risk signals not yet reviewed

    @property
    def statuses(self) -> tuple[RequestStatus, ...]:
        if self.status == ANY:
            return tuple(RequestStatus)
        if self.status == OPEN:
            return tuple(s for s in RequestStatus if s in OPEN_STATUSES)
        return (RequestStatus(self.status),)

    def as_params(self, **changes: str | None) -> dict[str, str]:
        """The query string that asks for these filters again (``changes`` override)."""
        params = {
            "status": self.status,
            "store": str(self.store_id or ""),
            "issue": self.issue_type or "",
            "resolution": self.resolution or "",
            "older_than": str(self.older_than_days or ""),
            "assigned": self.assignment or "",
            "q": self.search.text if self.search else "",
            "risk": "1" if self.risky else "",
        }
        params.update({k: v or "" for k, v in changes.items()})
        return {k: v for k, v in params.items() if v}


@dataclass(frozen=True)
class QueueQuery:
    """Filters plus who is asking: the store scope (None = every store) and their user id."""

    filters: QueueFilters
    store_scope: int | None
    staff_id: int
    now: datetime


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after the request with this ``(created_at, id)``."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.created_at.astimezone(UTC).isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        if not _CURSOR.fullmatch(token):
            raise InvalidCursor("not base64url or too long")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
            stamp, _, ident = raw.partition("|")
            created_at, request_id = datetime.fromisoformat(stamp), int(ident)
            if created_at.tzinfo is None or not 0 < request_id <= MAX_ROW_ID:
                raise ValueError("out of range")
            return cls(created_at.astimezone(UTC), request_id)
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
            raise InvalidCursor("not a cursor") from exc


@dataclass(frozen=True)
class QueueRow:
    reference: str
    store_name: str
    order_name: str
    email: str
    issue_type: str
    resolution: str
    status: str
    created_at: datetime
    assignee_email: str | None
    risk_count: int = 0
    time_zone: str = "UTC"  # the store's


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: Cursor | None


@dataclass(frozen=True)
class StatusCount:
    status: RequestStatus
    count: int
    capped: bool  # True: there are at least ``count`` (the cap), maybe more


@dataclass(frozen=True)
class StoreChoice:
    id: int
    name: str


# --- parsing ----------------------------------------------------------------------------------


def parse_filters(
    params: Mapping[str, str], *, store_ids: Collection[int], store_scope: int | None
) -> QueueFilters:
    """Filters from a query string. Unknown values mean "any"; a store-scoped user always gets
    their own store, whatever the query says."""
    return QueueFilters(
        status=_choice(params.get("status"), STATUS_CHOICES, default=DEFAULT_STATUS, empty=ANY),
        store_id=store_scope if store_scope is not None else _store(params, store_ids),
        issue_type=_enum(IssueType, params.get("issue")),
        resolution=_enum(PreferredResolution, params.get("resolution")),
        older_than_days=_age(params.get("older_than")),
        assignment=_enum(Assignment, params.get("assigned")),
        search=parse_search(params.get("q", "")),
        risky=params.get("risk") == "1",
    )


def _choice(value: str | None, choices: Sequence[str], *, default: str, empty: str) -> str:
    if value is None:
        return default
    return value if value in choices else empty


def _enum(kind: type[E], value: str | None) -> E | None:
    try:
        return kind(value) if value else None
    except ValueError:
        return None


def _store(params: Mapping[str, str], store_ids: Collection[int]) -> int | None:
    value = params.get("store", "")
    if not value.isdigit() or len(value) > 12:
        return None
    return int(value) if int(value) in store_ids else None


def _age(value: str | None) -> int | None:
    if not value or not value.isdigit() or len(value) > 3:
        return None
    return int(value) if int(value) in AGE_CHOICES else None


def parse_search(typed: str) -> Search | None:
    """A reference (RR-XXXXXX), an order number (#1234 or 1234) or a whole email are looked up
    exactly; anything else of three characters or more is looked for inside names, emails,
    references, order and tracking numbers. None when empty."""
    text = typed.strip()[:MAX_SEARCH_LENGTH]
    if not text:
        return None
    if _REFERENCE.fullmatch(text):
        return Search(SearchKind.REFERENCE, text.upper(), text)
    if number := _ORDER_NUMBER.fullmatch(text):
        return Search(SearchKind.ORDER, f"#{number.group(1)}", text)
    if _EMAIL.fullmatch(text):
        return Search(SearchKind.EMAIL, text.casefold(), text)
    words = " ".join(text.casefold().split())
    if len(words) < MIN_TEXT_LENGTH:
        return Search(SearchKind.UNRECOGNIZED, "", text)
    return Search(SearchKind.TEXT, words, text)


def parse_cursor(token: str | None) -> Cursor | None:
    """The cursor of a "Next page" link; raises InvalidCursor for anything else."""
    return None if token is None else Cursor.decode(token)


# --- queries ----------------------------------------------------------------------------------


def _conditions(query: QueueQuery) -> list[ColumnElement[bool]]:
    """Every filter except status."""
    r, f = ReorderRequest, query.filters
    found: list[ColumnElement[bool]] = []
    if query.store_scope is not None:
        found.append(r.store_id == query.store_scope)
    if f.store_id is not None:
        found.append(r.store_id == f.store_id)
    if f.issue_type is not None:
        found.append(r.issue_type == f.issue_type.value)
    if f.resolution is not None:
        found.append(r.resolution == f.resolution.value)
    if f.older_than_days is not None:
        found.append(r.created_at < query.now - timedelta(days=f.older_than_days))
    if f.assignment is Assignment.ME:
        found.append(r.assigned_to_id == query.staff_id)
    elif f.assignment is Assignment.UNASSIGNED:
        found.append(r.assigned_to_id.is_(None))
    if f.search is not None:
        found.append(_search_condition(f.search))
    if f.risky:
        found.append(r.risk_count > 0)
    return found


def _search_condition(search: Search) -> ColumnElement[bool]:
    if search.kind is SearchKind.TEXT:
        return text_search(search.value)
    column = {
        SearchKind.REFERENCE: ReorderRequest.reference,
        SearchKind.ORDER: ReorderRequest.order_name,
        SearchKind.EMAIL: ReorderRequest.email,
    }[search.kind]
    return column == search.value


def _matches_nothing(query: QueueQuery) -> bool:
    search = query.filters.search
    return search is not None and search.kind is SearchKind.UNRECOGNIZED


def _after(cursor: Cursor) -> ColumnElement[bool]:
    key = tuple_(ReorderRequest.created_at, ReorderRequest.id)
    return key > tuple_(literal(cursor.created_at, UtcDateTime()), literal(cursor.id))


def _keys_of_status(
    query: QueueQuery, status: RequestStatus, after: Cursor | None, limit: int
) -> Select[int, datetime]:
    """One status's next ``limit`` requests in queue order: one range of a status index."""
    r = ReorderRequest
    where = [*_conditions(query), r.status == status.value]
    if after is not None:
        where.append(_after(after))
    ordered = (
        select(r.id, r.created_at).where(*where).order_by(r.created_at, r.id).limit(limit)
    ).subquery()
    return select(ordered.c.id, ordered.c.created_at)


def _searches_text(query: QueueQuery) -> bool:
    search = query.filters.search
    return search is not None and search.kind is SearchKind.TEXT


def _keys_of_text_search(
    query: QueueQuery, after: Cursor | None, limit: int
) -> Select[int, datetime]:
    """A text search's next ``limit`` requests in queue order. The search index (trigrams on
    PostgreSQL, FTS5 on SQLite) finds the matching rows once for every status together: split
    by status, each status would look them up again."""
    r = ReorderRequest
    where = [*_conditions(query), r.status.in_([s.value for s in query.filters.statuses])]
    if after is not None:
        where.append(_after(after))
    return select(r.id, r.created_at).where(*where).order_by(r.created_at, r.id).limit(limit)


# On PostgreSQL a text search first walks the oldest-first index of every
# request (ix_reorder_requests_search_by_age, which carries the search text and every filtered
# column) for this many requests: a common name fills the page from there without visiting the
# table; a rarer one falls back to the trigram index, which then finds few rows.
SEARCH_WINDOW = 20_000


def window_statement(
    query: QueueQuery, after: Cursor | None, size: int = PAGE_SIZE
) -> Select[str, str, str, str, str, str, str, datetime, int, str, int, str]:
    """A text search's page from the next ``SEARCH_WINDOW`` requests in queue order only."""
    r = ReorderRequest
    walked = select(
        r.id,
        r.created_at,
        r.status,
        r.store_id,
        r.issue_type,
        r.resolution,
        r.assigned_to_id,
        r.risk_count,
        r.search_text,
    )
    if after is not None:
        walked = walked.where(_after(after))
    window = walked.order_by(r.created_at, r.id).limit(SEARCH_WINDOW).subquery("search_window")
    adapter = ClauseAdapter(window)
    where = [
        adapter.traverse(c)
        for c in (*_conditions(query), r.status.in_([s.value for s in query.filters.statuses]))
    ]
    keys = (
        select(window.c.id, window.c.created_at)
        .where(*where)
        .order_by(window.c.created_at, window.c.id)
        .limit(size + 1)
    )
    return _page_of(keys.subquery("page_keys"), size)


def page_statement(
    query: QueueQuery, after: Cursor | None, size: int = PAGE_SIZE
) -> Select[str, str, str, str, str, str, str, datetime, int, str, int, str]:
    """The page's rows (one more than ``size``, to know whether another page follows)."""
    if _searches_text(query):
        keys = _keys_of_text_search(query, after, size + 1).subquery("page_keys")
    else:
        parts = [_keys_of_status(query, s, after, size + 1) for s in query.filters.statuses]
        keys = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("page_keys")
    return _page_of(keys, size)


def _page_of(
    keys: Subquery, size: int
) -> Select[str, str, str, str, str, str, str, datetime, int, str, int, str]:
    """The rows of the requests ``keys`` names, in queue order."""
    r = ReorderRequest
    return (
        select(
            r.reference,
            Store.name,
            r.order_name,
            r.email,
            r.issue_type,
            r.resolution,
            r.status,
            r.created_at,
            r.id,
            User.email,
            r.risk_count,
            Store.time_zone,
        )
        .join(keys, keys.c.id == r.id)
        .join(Store, Store.id == r.store_id)
        .outerjoin(User, User.id == r.assigned_to_id)
        .order_by(keys.c.created_at, keys.c.id)
        .limit(size + 1)
    )


async def queue_page(
    db: AsyncSession, query: QueueQuery, after: Cursor | None = None, size: int = PAGE_SIZE
) -> QueuePage:
    if _matches_nothing(query):
        return QueuePage([], None)
    windowed = await _window_rows(db, query, after, size)
    found = (
        windowed
        if windowed is not None
        else (await db.execute(page_statement(query, after, size))).all()
    )
    rows = [_row(*found_row) for found_row in found[:size]]
    more = len(found) > size
    last = found[size - 1] if more else None
    return QueuePage(rows, Cursor(last.created_at, last.id) if last is not None else None)


PageRows = Sequence[Row[str, str, str, str, str, str, str, datetime, int, str, int, str]]


async def _window_rows(
    db: AsyncSession, query: QueueQuery, after: Cursor | None, size: int
) -> PageRows | None:
    """A text search's page from the window, when the window fills it (PostgreSQL only)."""
    if not _searches_text(query) or db.get_bind().dialect.name != "postgresql":
        return None
    found = (await db.execute(window_statement(query, after, size))).all()
    return found if len(found) > size else None


def _row(
    reference: str,
    store_name: str,
    order_name: str,
    email: str,
    issue_type: str,
    resolution: str,
    status: str,
    created_at: datetime,
    _id: int,
    assignee_email: str | None,
    risk_count: int,
    time_zone: str,
) -> QueueRow:
    return QueueRow(
        reference,
        store_name,
        order_name,
        email,
        issue_type,
        resolution,
        status,
        created_at,
        assignee_email,
        risk_count,
        time_zone,
    )


EXPORT_PAGE_SIZE = 500


async def export_pages(
    open_session: Callable[[], AbstractAsyncContextManager[AsyncSession]], query: QueueQuery
) -> AsyncIterator[list[QueueRow]]:
    """Every request matching ``query``, in queue order, a page at a time; each page read in a
    session of its own, so a slow download holds no connection between pages."""
    if _matches_nothing(query):
        return
    after: Cursor | None = None
    while True:
        async with open_session() as db:
            page = await queue_page(db, query, after, EXPORT_PAGE_SIZE)
        if page.rows:
            yield page.rows
        if page.next_cursor is None:
            return
        after = page.next_cursor


def _counters_answer(query: QueueQuery) -> bool:
    """Whether the counters answer this query: only the store and assignee filters are kept."""
    f = query.filters
    return (
        f.issue_type is None
        and f.resolution is None
        and f.older_than_days is None
        and f.search is None
        and not f.risky
    )


def kept_counts_statement(query: QueueQuery) -> Select[str, int]:
    """Per status, how many requests the store and assignee filters leave: a sum over the
    counters of the chosen stores and assignees (at most stores x statuses x agents rows)."""
    c, f = QueueCount, query.filters
    where: list[ColumnElement[bool]] = []
    for store_id in (query.store_scope, f.store_id):
        if store_id is not None:
            where.append(c.store_id == store_id)
    if f.assignment is Assignment.ME:
        where.append(c.assignee_id == query.staff_id)
    elif f.assignment is Assignment.UNASSIGNED:
        where.append(c.assignee_id == NOBODY)
    return select(c.status, func.sum(c.requests)).where(*where).group_by(c.status)


async def _counts_from_counters(db: AsyncSession, query: QueueQuery) -> list[StatusCount]:
    counted = {status: int(n) for status, n in await db.execute(kept_counts_statement(query))}
    return [StatusCount(s, counted.get(s.value, 0), capped=False) for s in RequestStatus]


def counts_statement(query: QueueQuery, cap: int | None = COUNT_CAP) -> Select[*tuple[int, ...]]:
    """One row: per status, how many requests match the other filters (at most ``cap + 1``)."""
    return select(*(_count_of_status(query, s, cap).label(s.value) for s in RequestStatus))


def _count_of_status(
    query: QueueQuery, status: RequestStatus, cap: int | None
) -> ColumnElement[int]:
    matching = select(ReorderRequest.id).where(
        *_conditions(query), ReorderRequest.status == status.value
    )
    if cap is not None:
        matching = matching.limit(cap + 1)
    return select(func.count()).select_from(matching.subquery()).scalar_subquery()


def text_search_counts_statement(
    query: QueueQuery, cap: int | None = COUNT_CAP
) -> Select[str, int]:
    """Per status, how many requests a text search matches, from one look-up of the search
    index; at most ``cap + 1`` matching requests are counted in all."""
    matching = select(ReorderRequest.status).where(*_conditions(query))
    if cap is not None:
        matching = matching.limit(cap + 1)
    found = matching.subquery()
    return select(found.c.status, func.count()).group_by(found.c.status)


async def _text_search_counts(
    db: AsyncSession, query: QueueQuery, cap: int | None
) -> list[StatusCount]:
    rows = await db.execute(text_search_counts_statement(query, cap))
    counted = {status: number for status, number in rows}
    capped = cap is not None and sum(counted.values()) > cap
    return [
        StatusCount(s, counted.get(s.value, 0), capped=capped and s.value in counted)
        for s in RequestStatus
    ]


async def status_counts(
    db: AsyncSession, query: QueueQuery, cap: int | None = COUNT_CAP
) -> list[StatusCount]:
    """Per status, how many requests match every filter but status: exact from the counters
    under the store and assignee filters, otherwise counted up to ``cap`` (None: no cap)."""
    if _matches_nothing(query):
        return [StatusCount(s, 0, capped=False) for s in RequestStatus]
    if _counters_answer(query):
        return await _counts_from_counters(db, query)
    if _searches_text(query):
        return await _text_search_counts(db, query, cap)
    row = (await db.execute(counts_statement(query, cap))).one()
    return [_status_count(s, n, cap) for s, n in zip(RequestStatus, row, strict=True)]


def _status_count(status: RequestStatus, counted: int, cap: int | None) -> StatusCount:
    if cap is not None and counted > cap:
        return StatusCount(status, cap, capped=True)
    return StatusCount(status, counted, capped=False)


async def visible_stores(db: AsyncSession, store_scope: int | None) -> list[StoreChoice]:
    """The stores the store filter offers: every store, or only the user's own."""
    chosen = select(Store.id, Store.name).order_by(Store.name, Store.id)
    if store_scope is not None:
        chosen = chosen.where(Store.id == store_scope)
    return [StoreChoice(id, name) for id, name in (await db.execute(chosen)).all()]
