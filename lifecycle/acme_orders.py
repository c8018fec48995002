"""The order task of a public certificate: account, order, DNS-01, finalize, new version.

The order (and its sealed private key) is saved in the task as soon as the CA accepts
it, so a worker that takes over after a crash or restart resumes the same order; an
order whose authorizations expired fails with the CA's error instead of staying
pending. Manual DNS parks the task until the user calls the validate action. A failed
rotation never touches the current version.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509

from acme_client.accounts import AcmeAccount, ensure_account
from acme_client.errors import AcmeError, AcmeOrderError
from acme_client.issuance import complete_order, present_challenges
from acme_client.orders import new_order, resume_order
from dns_providers.manual import ManualProvider
from lifecycle import events, rotation, tasks, versions
from lifecycle.core import SYSTEM, Actor, Core
from lifecycle.crypto import Sealed
from lifecycle.errors import InvalidInput, Locked, NotFound
from lifecycle.public_configs import acme_settings, dns_provider
from lifecycle.records import ConfigRecord
from lifecycle.secrets import load_secret
from lifecycle.store import Tx
from lifecycle.types.public_cert import ISSUANCE_ACTIVE, ISSUANCE_FAILED, ISSUANCE_PENDING, MANUAL
from lifecycle.vocabulary import State, TaskKind, TaskStatus
from pki.parsing import signing_algorithm

VALIDATE = "public_cert_action_validate_dns_challenge"


def _seal_key(core: Core, task_id: str, pem: str) -> dict[str, str]:
    s = core.keyring.seal(pem.encode(), f"tasks/{task_id}")
    return {"c": base64.b64encode(s.ciphertext).decode(), "w": base64.b64encode(s.wrapped_key).decode(), "k": s.key_id}


def _open_key(core: Core, task_id: str, sealed: dict[str, str]) -> str:
    s = Sealed(base64.b64decode(sealed["c"]), base64.b64decode(sealed["w"]), sealed["k"])
    return core.keyring.open(s, f"tasks/{task_id}").decode()


def _remember_account(core: Core, read: ConfigRecord, account: str) -> None:
    """Save the CA account registration on its configuration, unless the configuration was
    changed since it was read (a patch may have replaced the key the account belongs to)."""
    with core.store.transaction() as tx:
        config = tx.get_config(read.name, for_update=True)
        if config is not None and (config.key_payload, config.attributes.get("directory_url")) == (
                read.key_payload, read.attributes.get("directory_url")):
            tx.update_config(config.name, attributes=config.attributes | {"account": account})


def run_order(core: Core, claimed: tasks.Claimed) -> None:
    """Worker handler for `public_cert_order` tasks."""
    task = claimed.task
    assert task.secret_id is not None
    with core.store.reader() as tx:
        secret = tx.get_secret(task.secret_id)
        if secret is None:
            raise NotFound("secret", task.secret_id)
        attrs = secret.attributes
        settings = acme_settings(tx, core, attrs["ca"])
        provider: Any = ManualProvider() if attrs["dns"] == MANUAL else dns_provider(tx, core, attrs["dns"])
    params = dict(task.params)
    try:
        with settings.connect() as conn:
            known = settings.config.attributes.get("account")
            account = ensure_account(conn, AcmeAccount.from_json(known) if known else None,
                                     eab_key_id=settings.eab_key_id, eab_hmac_key=settings.eab_hmac_key)
            if account.to_json() != known:
                _remember_account(core, settings.config, account.to_json())
            if "order" in params:
                order = resume_order(conn, params["order"], _open_key(core, task.id, params["key"]))
            else:
                order = new_order(conn, attrs["common_name"], attrs.get("alt_names") or (), attrs["key_algorithm"],
                                  _kept_key(core, task.secret_id, params))
                params |= {"order": order.to_json(), "key": _seal_key(core, task.id, order.private_key_pem)}
                with core.store.transaction() as tx:  # saved before any DNS change, so a restart resumes it
                    if not tx.update_task(task.id, expect_fence=claimed.fence, params=params):
                        raise tasks.StaleLease(f"task '{task.id}' was taken over")
                    _ordering(tx, secret.id, rotation=bool(params.get("rotation")), now=core.clock())
            if attrs["dns"] == MANUAL and not params.get("validated"):
                present_challenges(order, provider)
                _park_for_user(core, claimed, secret.id, order)
                return
            issued = complete_order(conn, order, provider, preferred_chain=settings.preferred_chain)
    except AcmeError as exc:
        error = exc if isinstance(exc, AcmeOrderError) else AcmeOrderError(exc.code, exc.message)
        _failed(core, claimed, error, rotation=bool(params.get("rotation")))
        return
    try:
        _issued(core, claimed, issued.certificate, issued.intermediate, issued.private_key)
    except Locked as exc:  # a lock put on the previous version while the order ran
        _blocked(core, claimed, exc)


def _ordering(tx: Tx, secret_id: str, *, rotation: bool, now: datetime) -> None:
    """A new order is placed (a first attempt or a retry): the secret says so again, not the
    failure of the attempt before (its error, a manual rotation's old challenges)."""
    secret = tx.get_secret(secret_id, for_update=True)
    if secret is None:
        return
    info = {k: v for k, v in (secret.attributes.get("issuance_info") or {}).items()
            if k not in ("error_code", "error_message", "challenges")} | {"state": ISSUANCE_PENDING}
    attrs = secret.attributes | {"issuance_info": info}
    if rotation:
        attrs["rotation_state"] = "pending"
    if attrs != secret.attributes:
        tx.update_secret(secret_id, attributes=attrs, updated_at=now)


def _kept_key(core: Core, secret_id: str, params: dict[str, Any]) -> str | None:
    """A renewal keeps the current key unless the rotation asks for new keys."""
    if not params.get("rotation"):
        return None
    with core.store.reader() as tx:
        secret = tx.get_secret(secret_id)
        if secret is None:
            return None
        wanted = params.get("rotate_keys")
        if wanted is None:
            wanted = (secret.attributes.get("rotation") or {}).get("rotate_keys", False)
        if wanted:
            return None
        current = versions.resolve(tx, secret_id, "current")
    return str(versions.open_data(core, current)["private_key"]) if current.payload_available else None


def _park_for_user(core: Core, claimed: tasks.Claimed, secret_id: str, order: Any) -> None:
    challenges = [{"domain": c.domain, "txt_record_name": c.txt_record_name, "txt_record_value": c.txt_record_value,
                   "status": c.status, "expiration": c.expiration.isoformat() if c.expiration else None}
                  for c in order.challenges]
    now = core.clock()
    with core.store.transaction() as tx:
        secret = load_secret(tx, SYSTEM, secret_id, for_update=True)
        info = dict(secret.attributes.get("issuance_info", {})) | {"challenges": challenges}
        tx.update_secret(secret_id, attributes=secret.attributes | {"issuance_info": info}, updated_at=now)
        tasks.wait(tx, claimed, now, {"challenges": challenges})


def _issued(core: Core, claimed: tasks.Claimed, certificate: str, intermediate: str, private_key: str) -> None:
    now = core.clock()
    cert = x509.load_pem_x509_certificate(certificate.encode())
    validity = {"not_before": cert.not_valid_before_utc.isoformat(), "not_after": cert.not_valid_after_utc.isoformat()}
    serial = ":".join(f"{b:02x}" for b in cert.serial_number.to_bytes((cert.serial_number.bit_length() + 7) // 8, "big"))
    with core.store.transaction() as tx:
        secret = load_secret(tx, SYSTEM, claimed.task.secret_id or "", for_update=True)
        bundle = secret.attributes.get("bundle_certs", True)
        data = {"certificate": certificate + intermediate if bundle else certificate, "intermediate": intermediate,
                "private_key": private_key}
        added = versions.add_version(tx, core, secret, data, created_by="acme", now=now, custom_metadata={},
                                     attributes={"serial_number": serial, "validity": validity,
                                                 "expiration_date": validity["not_after"]},
                                     auto_rotated=bool(claimed.task.params.get("rotation")))
        version, kept = added.version, added.kept
        info = {"state": ISSUANCE_ACTIVE, "ordered_on": secret.attributes.get("issuance_info", {}).get("ordered_on"),
                "auto_rotated": claimed.task.trigger == "automatic_secret_rotation"}
        attrs = secret.attributes | {
            "issuance_info": info, "rotation_state": "idle", "last_rotation_failed": False,
            "issuer": cert.issuer.rfc4514_string(), "serial_number": serial, "validity": validity,
            "signing_algorithm": signing_algorithm(cert),
        }
        attrs.pop("rotation_error", None)
        tx.update_secret(secret.id, attributes=attrs, state=State.ACTIVE, versions_total=kept,
                         expiration_date=cert.not_valid_after_utc, updated_at=now,
                         next_rotation_date=rotation.renewal_date(attrs.get("rotation"), cert.not_valid_after_utc,
                                                                 cert.not_valid_before_utc),
                         next_expiry_notice=events.next_expiry_notice(cert.not_valid_after_utc, now))
        event = events.EventType.SECRET_ROTATED if claimed.task.params.get("rotation") else events.EventType.SECRET_CREATED
        events.emit(tx, now, event, secret, {"version_id": version.id, "serial_number": serial})
        tasks.succeed(tx, claimed, now, {"version_id": version.id})


def _failed(core: Core, claimed: tasks.Claimed, error: AcmeOrderError, *, rotation: bool) -> None:
    now = core.clock()
    problem = {"error_code": error.error_code, "error_message": error.error_message}
    with core.store.transaction() as tx:
        secret = load_secret(tx, SYSTEM, claimed.task.secret_id or "", for_update=True)
        info = dict(secret.attributes.get("issuance_info", {})) | {"state": ISSUANCE_FAILED, **problem}
        info.pop("challenges", None)
        if rotation:  # the current version stays; retry with backoff, at least daily, until expiry
            attrs = secret.attributes | {"issuance_info": info, "rotation_state": "failed", "last_rotation_failed": True,
                                         "rotation_error": {"code": error.error_code, "message": error.error_message}}
            tx.update_secret(secret.id, attributes=attrs, updated_at=now)
            events.emit(tx, now, events.EventType.SECRET_ROTATION_FAILED, secret, problem)
            next_at = tasks.fail(tx, claimed, now, error.error_code, error.error_message, retry=True)
            if next_at is not None:
                params = {k: v for k, v in claimed.task.params.items() if k not in ("order", "key", "validated")}
                tx.update_task(claimed.task.id, params=params)  # the next attempt places a new order
        else:
            tx.update_secret(secret.id, attributes=secret.attributes | {"issuance_info": info},
                             state=State.DEACTIVATED, updated_at=now)
            tasks.fail(tx, claimed, now, error.error_code, error.error_message, retry=error.retryable)


def _blocked(core: Core, claimed: tasks.Claimed, exc: Locked) -> None:
    """The renewed certificate cannot become current: the version it would replace is locked.
    The rotation fails and retries with backoff, keeping its order: a retry once the lock is
    gone resumes it and stores the certificate already issued (no new order)."""
    now = core.clock()
    problem = {"error_code": "locked", "error_message": exc.message}
    with core.store.transaction() as tx:
        secret = load_secret(tx, SYSTEM, claimed.task.secret_id or "", for_update=True)
        info = dict(secret.attributes.get("issuance_info", {})) | {"state": ISSUANCE_FAILED, **problem}
        info.pop("challenges", None)
        attrs = secret.attributes | {"issuance_info": info, "rotation_state": "failed", "last_rotation_failed": True,
                                     "rotation_error": {"code": "locked", "message": exc.message}}
        tx.update_secret(secret.id, attributes=attrs, updated_at=now)
        events.emit(tx, now, events.EventType.SECRET_ROTATION_BLOCKED, secret, {"locks": exc.locks})
        tasks.fail(tx, claimed, now, "locked", exc.message, retry=True)


def validate_dns_challenge(core: Core, actor: Actor, secret_id: str) -> dict[str, Any]:
    """The manual DNS flow's `validate` action: the user's TXT records are in place, continue the order."""
    now = core.clock()
    with core.store.transaction() as tx:
        secret = load_secret(tx, actor, secret_id, for_update=True)
        if secret.secret_type != "public_cert" or secret.attributes.get("dns") != MANUAL:
            raise InvalidInput(f"action_type: {VALIDATE} applies to public certificates with manual DNS",
                               field="action_type")
        task = tx.active_task(secret.id, [TaskKind.PUBLIC_CERT_ORDER])
        if task is None or task.status != TaskStatus.WAITING:
            raise InvalidInput("action_type: no order is waiting for its DNS challenges to be validated",
                               field="action_type")
        tasks.requeue(tx, task, now, task.params | {"validated": True})
    return {"action_type": VALIDATE}


HANDLERS = {TaskKind.PUBLIC_CERT_ORDER: run_order}
