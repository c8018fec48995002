"""Secrets created together over the API commit together, and a batch that cannot be written
whole is made again one creation at a time, each answered with its own outcome."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from api.app import create_app
from fixtures.private_pki import TEMPLATE, make_private_pki
from fixtures.sql_trace import sent_statements
from lifecycle import batched_creates, groups, secrets
from lifecycle.configurations import update_configuration
from lifecycle.core import SYSTEM, Core
from lifecycle.errors import InvalidInput, NotFound
from lifecycle.secrets import SecretDraft
from lifecycle.store import SecretQuery


async def _post_all(core: Core, bodies: list[dict[str, Any]], headers: dict[str, str]) -> list[httpx.Response]:
    """Every body posted at once, on one event loop, as requests arriving together are served."""
    transport = httpx.ASGITransport(app=create_app(core))
    async with httpx.AsyncClient(transport=transport, base_url="http://certkeeper") as client:
        return await asyncio.gather(*(client.post("/api/v2/secrets", json=b, headers=headers) for b in bodies))


def _names(core: Core) -> list[str]:
    views, total = secrets.list_secrets(core, SYSTEM, SecretQuery(offset=0, limit=100, sort="name"))
    assert total == len(views)
    return [v.secret.name for v in views]


def test_certificates_issued_together_are_written_in_one_batch(core, admin) -> None:  # type: ignore[no-untyped-def]
    make_private_pki(core)
    bodies = [{"secret_type": "private_cert", "name": f"web-{i}", "certificate_template": TEMPLATE,
               "common_name": f"web-{i}.example.test", "ttl": "24h"} for i in range(6)]
    with sent_statements(core.store.engine) as sent:
        responses = asyncio.run(_post_all(core, bodies, admin))

    assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses if r.status_code != 201]
    assert all("BEGIN CERTIFICATE" in r.json()["certificate"] for r in responses)
    inserts = [s for s in sent if s.head == "INSERT INTO secrets"]
    assert [(s.executemany, len(s.parameters)) for s in inserts] == [(True, 6)]
    assert _names(core) == [f"web-{i}" for i in range(6)]
    for r in responses:  # each answer is what was stored
        stored = secrets.get_secret(core, SYSTEM, r.json()["id"], with_payload=True)
        assert stored.data["certificate"] == r.json()["certificate"]  # type: ignore[index]
    assert secrets.list_secrets(core, SYSTEM, SecretQuery(offset=0, limit=10, search="web-4"))[1] == 1


def test_a_name_taken_within_the_batch_refuses_only_the_later_request(core, admin) -> None:  # type: ignore[no-untyped-def]
    bodies = [{"secret_type": "arbitrary", "name": name, "payload": f"value-{i}"}
              for i, name in enumerate(["twin", "twin", "single"])]
    responses = asyncio.run(_post_all(core, bodies, admin))

    assert sorted(r.status_code for r in responses) == [201, 201, 409]
    refused = next(r for r in responses if r.status_code == 409)
    assert "named 'twin' already exists" in refused.json()["errors"][0]["message"]
    assert "value-" not in refused.text
    assert _names(core) == ["single", "twin"]


def test_plans_made_before_their_template_changed_are_made_again_under_the_new_rules(core) -> None:  # type: ignore[no-untyped-def]
    make_private_pki(core)
    drafts = [SecretDraft("private_cert", f"late-{i}", fields={"certificate_template": TEMPLATE,
                                                               "common_name": f"late-{i}.example.test"}) for i in range(2)]
    plans = [batched_creates.plan(core, SYSTEM, d) for d in drafts]
    assert all(p is not None for p in plans)
    update_configuration(core, SYSTEM, TEMPLATE, {"allowed_domains": ["other.test"]})

    answers = batched_creates.commit(core, plans)  # type: ignore[arg-type]

    assert [type(a) for a in answers] == [InvalidInput, InvalidInput]
    assert _names(core) == []


@pytest.mark.parametrize("token", [None, "retry-7"])
def test_a_lone_creation_is_answered_as_before(client, admin, token) -> None:  # type: ignore[no-untyped-def]
    body = {"secret_type": "arbitrary", "name": "alone", "payload": "p", "client_request_token": token}
    first = client.post("/api/v2/secrets", json={k: v for k, v in body.items() if v is not None}, headers=admin)
    again = client.post("/api/v2/secrets", json={k: v for k, v in body.items() if v is not None}, headers=admin)
    assert first.status_code == 201
    if token is None:
        assert again.status_code == 409
    else:  # a replay of the same request answers with the same secret
        assert again.status_code == 201 and again.json()["id"] == first.json()["id"]


def _cert(name: str, common_name: str, group: str = "default") -> SecretDraft:
    return SecretDraft("private_cert", name, secret_group_id=group,
                       fields={"certificate_template": TEMPLATE, "common_name": common_name})


def _create_batch(core: Core, drafts: list[SecretDraft]) -> list[Any]:
    plans = [batched_creates.plan(core, SYSTEM, d) for d in drafts]
    assert all(p is not None for p in plans)
    return batched_creates.commit(core, plans)  # type: ignore[arg-type]


def test_after_a_batch_the_next_plans_read_nothing_from_the_store(core) -> None:  # type: ignore[no-untyped-def]
    make_private_pki(core)
    assert [type(a).__name__ for a in _create_batch(core, [_cert("first", "first.example.test")])] == ["SecretView"]
    with sent_statements(core.store.engine) as sent:
        planned = batched_creates.plan(core, SYSTEM, _cert("second", "second.example.test"))
    assert planned is not None and sent == []  # group, template, CA and webhooks as the batch read them
    assert type(batched_creates.commit(core, [planned])[0]).__name__ == "SecretView"
    assert _names(core) == ["first", "second"]


def test_a_stale_hint_never_refuses_a_request_the_store_allows(core) -> None:  # type: ignore[no-untyped-def]
    make_private_pki(core)
    _create_batch(core, [_cert("first", "first.example.test")])
    update_configuration(core, SYSTEM, TEMPLATE, {"allowed_domains": ["example.test", "other.test"]})
    # The hints still hold the template as it was, which does not allow other.test.
    answers = _create_batch(core, [_cert("other", "www.other.test")])
    assert type(answers[0]).__name__ == "SecretView"
    assert _names(core) == ["first", "other"]


def test_a_stale_hint_never_writes_what_the_store_no_longer_allows(core) -> None:  # type: ignore[no-untyped-def]
    make_private_pki(core)
    _create_batch(core, [_cert("first", "first.example.test")])
    update_configuration(core, SYSTEM, TEMPLATE, {"allowed_domains": ["other.test"]})
    answers = _create_batch(core, [_cert("late", "late.example.test")])  # planned on the old template
    assert [type(a) for a in answers] == [InvalidInput]
    with pytest.raises(InvalidInput):  # the batch refreshed the hints: refused at once now
        batched_creates.plan(core, SYSTEM, _cert("later", "later.example.test"))
    assert _names(core) == ["first"]


def test_a_group_deleted_since_the_hint_answers_not_found(core) -> None:  # type: ignore[no-untyped-def]
    make_private_pki(core)
    group = groups.create_group(core, SYSTEM, "short-lived", None)
    [first] = _create_batch(core, [_cert("first", "first.example.test", group.id)])
    secrets.delete_secret(core, SYSTEM, first.secret.id)
    groups.delete_group(core, SYSTEM, group.id)

    answers = _create_batch(core, [_cert("orphan", "orphan.example.test", group.id)])

    assert [type(a) for a in answers] == [NotFound]
    with pytest.raises(NotFound):  # the failed batch dropped the hints: refused at once now
        batched_creates.plan(core, SYSTEM, _cert("orphan", "orphan.example.test", group.id))
    assert _names(core) == []
