"""The `search` of secret listings: what text a secret is found by, and the condition that finds it
through a trigram index instead of a scan of every secret.

A secret matches when the term is a case-insensitive substring of its id, name, description,
type or one of its labels. Each secret's text lives in `secret_search`; terms of three characters
or more use its index for a few of their trigrams (PostgreSQL: pg_trgm GIN through `LIKE`;
SQLite: the FTS5 trigram table through `MATCH`), then keep the rows holding the whole term.
Shorter terms, which no trigram can narrow, scan that table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Integer, column, exists, func, or_, select, text

from lifecycle.store import schema as t
from lifecycle.store.tx_base import _escape_like

MIN_INDEXED_TERM = 3  # a trigram index narrows only terms of at least one trigram
SEPARATOR = "\n"  # between fields, so a term cannot match across two of them (terms with it scan)
FTS_TABLE = "secret_search_fts"


def search_text(secret_id: str, name: str, description: str | None, secret_type: str, labels: Iterable[str]) -> str:
    """The lowercased text a secret is found by."""
    return SEPARATOR.join([secret_id, name, description or "", secret_type, *labels]).lower()


def matching_ids(term: str, dialect: str) -> Any:
    """A subquery of the ids of secrets matching ``term``; use as ``secrets.id.in_(...)``."""
    term = term.lower()
    s = t.secret_search.c
    if SEPARATOR in term:  # the joined text would let such a term span two fields
        return _per_field(term)
    if len(term) < MIN_INDEXED_TERM:
        return select(s.secret_id).where(s.search_text.like(f"%{_escape_like(term)}%", escape="\\"))
    # The index narrows by a few trigrams of the term (tiling_trigrams); a test the index cannot
    # serve (strpos, instr) then keeps exactly the rows holding the whole term.
    grams = tiling_trigrams(term)
    if dialect == "sqlite":
        fts = " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)  # quoted: no FTS5 operators
        rowids = text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q").bindparams(q=fts)
        return select(s.secret_id).where(s.id.in_(rowids.columns(column("rowid", Integer))),
                                         func.instr(s.search_text, term) > 0)
    return select(s.secret_id).where(*(s.search_text.like(f"%{_escape_like(g)}%", escape="\\") for g in grams),
                                     func.strpos(s.search_text, term) > 0)


def tiling_trigrams(term: str) -> list[str]:
    """The trigrams that tile term without overlap, plus its last one. Every row holding term holds
    them all; a trigram index reads one posting list per trigram asked, and a trigram common to
    most secrets has a list as long as the table, so asking a third of them reads a third as much
    as asking every trigram of the term (what a phrase or a LIKE of the whole term does)."""
    starts = list(range(0, len(term) - MIN_INDEXED_TERM + 1, MIN_INDEXED_TERM))
    if starts[-1] != len(term) - MIN_INDEXED_TERM:
        starts.append(len(term) - MIN_INDEXED_TERM)
    return list(dict.fromkeys(term[i:i + MIN_INDEXED_TERM] for i in starts))


def _per_field(term: str) -> Any:
    """Field by field over secrets and labels: a full scan, for the rare term holding a newline."""
    pattern = f"%{_escape_like(term)}%"
    c, labels = t.secrets.c, t.secret_labels.c
    return select(c.id).where(or_(
        *(func.lower(col).like(pattern, escape="\\") for col in (c.id, c.name, c.description, c.secret_type)),
        exists().where(labels.secret_id == c.id, func.lower(labels.label).like(pattern, escape="\\")),
    ))
