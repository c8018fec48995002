"""Reads of a payload: their marks and audit events commit before the data goes out, and the
reads served together commit together."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, text

from api.app import create_app
from fixtures.sql_trace import sent_statements
from lifecycle import groups, payload_reads, secrets, versions
from lifecycle.core import SYSTEM, Core
from lifecycle.errors import NotFound, StoreUnavailable
from lifecycle.secrets import SecretDraft
from lifecycle.store import schema as t
from lifecycle.vocabulary import Role

PAYLOAD = "READ-PAYLOAD-77"


def _audit(core: Core, secret_id: str) -> list[Any]:
    with core.store.engine.connect() as conn:
        rows = conn.execute(select(t.audit_events).order_by(t.audit_events.c.id)).all()
    return [r for r in rows if secret_id in r.target and r.action.endswith("read_payload")]


async def _get_all(core: Core, paths: list[tuple[str, str]], headers: dict[str, str]) -> list[httpx.Response]:
    """Each (path, request id) requested at once, on one event loop, as connections that are
    readable together are served."""
    transport = httpx.ASGITransport(app=create_app(core))
    async with httpx.AsyncClient(transport=transport, base_url="http://certkeeper") as client:
        return await asyncio.gather(*(client.get(path, headers={**headers, "X-Request-ID": rid}) for path, rid in paths))


def test_reads_served_together_commit_their_marks_in_one_batch(core, admin) -> None:  # type: ignore[no-untyped-def]
    view = secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", "shared", fields={"payload": PAYLOAD}))
    sid, vid = view.secret.id, view.current.id  # type: ignore[union-attr]
    paths = [(f"/api/v2/secrets/{sid}", f"by-id-{i}") for i in range(6)]
    paths += [("/api/v2/secret_groups/default/secret_types/arbitrary/secrets/shared", "by-name"),
              (f"/api/v2/secrets/{sid}/versions/{vid}", "version")]
    with sent_statements(core.store.engine) as sent:
        responses = asyncio.run(_get_all(core, paths, admin))

    assert [r.status_code for r in responses] == [200] * len(paths)
    assert all(r.json()["payload"] == PAYLOAD for r in responses)
    events = _audit(core, sid)
    assert sorted(e.request_id for e in events) == sorted(rid for _, rid in paths)
    assert sorted(e.action for e in events) == ["secret.read_payload"] * 7 + ["version.read_payload"]
    assert all(e.target == f"secret:{sid}/version:{vid}" for e in events)
    # One audit insert carrying all eight events, one update of the secret, one of the version.
    audit_inserts = [s for s in sent if s.head == "INSERT INTO audit_events"]
    assert [(s.executemany, len(s.parameters)) for s in audit_inserts] == [(True, len(paths))]
    assert len([s for s in sent if s.head == "UPDATE secrets SET"]) == 1
    assert len([s for s in sent if s.head == "UPDATE secret_versions SET"]) == 1
    after = secrets.get_secret(core, SYSTEM, sid, with_payload=False).secret
    assert after.downloaded is True and after.retrieved_at is not None


def test_a_read_whose_audit_event_cannot_commit_gives_no_data(core, admin) -> None:  # type: ignore[no-untyped-def]
    view = secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", "unaudited", fields={"payload": PAYLOAD}))
    sid = view.secret.id
    with core.store.engine.begin() as conn:  # the audit table gone: no read can be recorded
        conn.execute(text("ALTER TABLE audit_events RENAME TO audit_events_away"))

    responses = asyncio.run(_get_all(core, [(f"/api/v2/secrets/{sid}", "a"), (f"/api/v2/secrets/{sid}", "b")], admin))

    assert [r.status_code for r in responses] == [503, 503]
    assert all(r.json()["errors"][0]["code"] == "store_unavailable" for r in responses)
    assert all(PAYLOAD not in r.text for r in responses)
    with core.store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_events_away RENAME TO audit_events"))
    after = secrets.get_secret(core, SYSTEM, sid, with_payload=False).secret
    assert after.downloaded is False and after.retrieved_at is None  # nothing of the failed reads was written
    assert _audit(core, sid) == []


def test_a_library_read_writes_its_marks_before_returning(core) -> None:  # type: ignore[no-untyped-def]
    view = secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", "direct", fields={"payload": PAYLOAD}))
    got = secrets.get_secret(core, SYSTEM, view.secret.id, with_payload=True)
    assert got.data == {"payload": PAYLOAD} and got.secret.downloaded is True
    stored = secrets.get_secret(core, SYSTEM, view.secret.id, with_payload=False).secret
    assert stored.downloaded is True and stored.retrieved_at == got.secret.retrieved_at
    assert [e.action for e in _audit(core, view.secret.id)] == ["secret.read_payload"]


def test_a_read_by_id_takes_its_rows_in_one_statement(core) -> None:  # type: ignore[no-untyped-def]
    view = secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", "one-query", fields={"payload": PAYLOAD}))
    with sent_statements(core.store.engine) as sent:
        got, read = secrets.read_secret(core, SYSTEM, view.secret.id)
    assert got.data == {"payload": PAYLOAD} and read is not None and read.version_id == view.current.id  # type: ignore[union-attr]
    # The secret joined to its current version; on SQLite not even a BEGIN around it.
    assert [s.head.split()[0] for s in sent] == ["SELECT"]
    with sent_statements(core.store.engine) as sent, pytest.raises(NotFound, match="no-such-secret"):
        secrets.read_secret(core, SYSTEM, "no-such-secret")
    assert [s.head.split()[0] for s in sent] == ["SELECT"]


def test_reads_made_by_their_batch_answer_each_alone(core, token_for) -> None:  # type: ignore[no-untyped-def]
    """Reads by id are made by the batch that commits their marks, on one connection: a secret
    missing or outside the token's groups is that read's 404, and only the reads that found
    their data are recorded."""
    team = groups.create_group(core, SYSTEM, "team-a", None)
    other = groups.create_group(core, SYSTEM, "team-b", None)
    mine = secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", "mine", fields={"payload": PAYLOAD},
                                                           secret_group_id=team.id))
    theirs = secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", "theirs", fields={"payload": "THEIRS-9"},
                                                             secret_group_id=other.id))
    paths = [(f"/api/v2/secrets/{mine.secret.id}", "mine-1"), (f"/api/v2/secrets/{theirs.secret.id}", "theirs"),
             ("/api/v2/secrets/0190a4b2-0000-7000-8000-000000000000", "missing"),
             (f"/api/v2/secrets/{mine.secret.id}", "mine-2")]
    reader = token_for(Role.SECRETS_READER, groups=[team.id])
    asyncio.run(_get_all(core, [("/api/v2/secrets?limit=1", "warm")], reader))  # the token's row read
    connects: list[object] = []
    counted = connects.append
    event.listen(core.store.engine, "engine_connect", counted)
    try:
        with sent_statements(core.store.engine) as sent:
            responses = asyncio.run(_get_all(core, paths, reader))
    finally:
        event.remove(core.store.engine, "engine_connect", counted)

    assert [r.status_code for r in responses] == [200, 404, 404, 200]
    assert [r.json()["payload"] for r in responses[::3]] == [PAYLOAD, PAYLOAD]
    assert all("THEIRS-9" not in r.text for r in responses)
    assert sorted(e.request_id for e in _audit(core, mine.secret.id)) == ["mine-1", "mine-2"]
    assert [(e.outcome, e.request_id) for e in _audit(core, theirs.secret.id)] == [("error", "theirs")]  # no read
    assert not secrets.get_secret(core, SYSTEM, theirs.secret.id, with_payload=False).secret.downloaded
    # The four reads' statements, then one transaction writing the marks of the two that found
    # data (the two failures' audit events are written one by one, as any failed request's).
    heads = [s.head.split()[0] for s in sent]
    assert heads[:4] == ["SELECT"] * 4 and heads.count("SELECT") == 4, heads
    assert [len(s.parameters) for s in sent if s.head == "INSERT INTO audit_events" and s.executemany] == [2]
    assert len(connects) == 4  # one for the four reads, one for their marks, one per failure's audit event


def test_a_read_that_fails_on_its_own_row_fails_alone(core, admin, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A fault of one read (here its data cannot be decoded) is that read's 500; the reads
    served with it answer, and only theirs are recorded."""
    good = secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", "good", fields={"payload": PAYLOAD}))
    bad = secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", "bad", fields={"payload": "BAD-1"}))
    opened = versions.open_data

    def open_data(c: Core, version: Any) -> Any:
        if version.secret_id == bad.secret.id:
            raise ValueError("stored data cannot be decoded")  # as a corrupt row would
        return opened(c, version)

    monkeypatch.setattr(versions, "open_data", open_data)
    paths = [(f"/api/v2/secrets/{good.secret.id}", "good-1"), (f"/api/v2/secrets/{bad.secret.id}", "bad"),
             (f"/api/v2/secrets/{good.secret.id}", "good-2")]
    responses = asyncio.run(_get_all(core, paths, admin))

    assert [r.status_code for r in responses] == [200, 500, 200]
    assert "BAD-1" not in responses[1].text and responses[1].json()["errors"][0]["code"] == "internal_error"
    assert sorted(e.request_id for e in _audit(core, good.secret.id)) == ["good-1", "good-2"]
    assert _audit(core, bad.secret.id) == []  # nothing read, nothing recorded as read


def test_a_batch_that_cannot_commit_keeps_no_read_data_for_its_error(core) -> None:  # type: ignore[no-untyped-def]
    """The one error a failed batch gives every read carries a traceback; none of its frames
    still holds data the batch had read for the others."""
    view = secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", "held-back", fields={"payload": PAYLOAD}))
    with core.store.engine.begin() as conn:  # the audit table gone: no read can be recorded
        conn.execute(text("ALTER TABLE audit_events RENAME TO audit_events_away"))
    try:
        now = core.clock()
        run = payload_reads.ReadInBatch(lambda tx: secrets._read_current(core, SYSTEM, tx, view.secret.id, now))
        with pytest.raises(StoreUnavailable) as failed:
            payload_reads._commit(core.store, [run, run])
    finally:
        with core.store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_events_away RENAME TO audit_events"))
    tb = failed.value.__traceback__.tb_next  # the frames from the batch's on (this test's own holds `view`)
    seen = []
    while tb is not None:
        seen += [repr(value) for value in tb.tb_frame.f_locals.values()]
        tb = tb.tb_next
    assert seen and not [v for v in seen if PAYLOAD in v]
