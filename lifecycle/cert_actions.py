"""Secret and version actions on certificates: revoking a private certificate puts its
serial on the issuing CA's CRL, which is rebuilt in the same transaction."""

from __future__ import annotations

from typing import Any

from lifecycle import audit, crls, events, versions
from lifecycle.core import Actor, Core
from lifecycle.errors import Conflict, InvalidInput
from lifecycle.records import RevocationRecord
from lifecycle.secrets import load_secret
from lifecycle.vocabulary import Stage, State

REVOKE = "private_cert_action_revoke_certificate"
VALIDATE = "public_cert_action_validate_dns_challenge"


def run_action(core: Core, actor: Actor, secret_id: str, ref: str | None, fields: dict[str, Any]) -> dict[str, Any]:
    """A secret action (``ref`` None: the current version) or a version action.

    Raises InvalidInput (unknown action or type), NotFound, Conflict (already revoked).
    """
    action_type = fields.get("action_type")
    if action_type == VALIDATE and ref is None:
        from lifecycle.acme_orders import validate_dns_challenge

        return validate_dns_challenge(core, actor, secret_id)
    if action_type != REVOKE:
        raise InvalidInput(f"action_type: '{action_type}' is not supported (supported: {REVOKE}, {VALIDATE})",
                           field="action_type")
    now = core.clock()
    with core.store.transaction() as tx:
        secret = load_secret(tx, actor, secret_id, for_update=True)
        if secret.secret_type != "private_cert":
            raise InvalidInput(f"action_type: {REVOKE} applies to private_cert secrets, not {secret.secret_type}", field="action_type")
        version = versions.resolve(tx, secret.id, ref or Stage.CURRENT)
        ca_name = version.attributes["certificate_authority"]
        serial = format(int(version.attributes["serial_number"].replace(":", ""), 16), "x")
        if tx.get_revocation(ca_name, serial) is not None:
            raise Conflict(f"the certificate of version '{version.id}' is already revoked")
        tx.insert_revocation(RevocationRecord(ca_name, serial, now, secret.id))
        crls.rebuild(tx, core, ca_name)
        seconds = int(now.timestamp())
        if tx.get_stages(secret.id).get(Stage.CURRENT) == version.id:
            attrs = secret.attributes | {"revocation_time_seconds": seconds,
                                         "revocation_time_rfc3339": now.isoformat().replace("+00:00", "Z")}
            tx.update_secret(secret.id, attributes=attrs, state=State.DEACTIVATED, updated_at=now)
        audit.record(tx, actor, now, "secret.revoke_certificate", f"secret:{secret.id}/version:{version.id}")
        events.emit(tx, now, events.EventType.SECRET_REVOKED, secret, {"version_id": version.id, "serial": serial})
    return {"action_type": REVOKE, "revocation_time_seconds": seconds}
