"""Public certificates ordered over ACME: the first version comes from an order task; a
rotation is another order, during which the secret stays active on its current version.

issuance_info shows what users watch: `state` 0 pending, 1 active, 2 failed; `challenges`
(the TXT records to add for manual DNS); `error_code` / `error_message` of a failure.
"""

from __future__ import annotations

from typing import Any

from acme_client.orders import KeyAlgorithm, order_names
from acme_client.errors import AcmeConfigurationError
from lifecycle import tasks
from lifecycle.ca_store import reject
from lifecycle.errors import Conflict, InvalidInput
from lifecycle.public_configs import CA_TYPES, DNS_TYPES, require
from lifecycle.records import SecretRecord
from lifecycle.rotation import DEFAULT_ROTATION, rotation_policy
from lifecycle.store import Tx
from lifecycle.types.base import HandlerContext, Material
from lifecycle.vocabulary import SecretType, State, TaskKind

MANUAL = "manual"
ISSUANCE_PENDING, ISSUANCE_ACTIVE, ISSUANCE_FAILED = 0, 1, 2
METADATA = ("common_name", "alt_names", "key_algorithm", "ca", "dns", "bundle_certs", "rotation", "issuance_info",
            "issuer", "serial_number", "validity", "signing_algorithm")


def start_order(tx: Tx, secret: SecretRecord, now: Any, *, trigger: str, created_by: str, rotation: bool,
                rotate_keys: bool | None = None, client_request_token: str | None = None) -> str:
    """Queue an order task for ``secret``; raises Conflict while another is pending. A renewal keeps
    the current key unless ``rotate_keys`` (or the policy's rotate_keys) asks for a new one."""
    pending = tx.active_task(secret.id, [TaskKind.PUBLIC_CERT_ORDER])
    if pending is not None:
        raise Conflict(f"secret '{secret.id}' has an order pending (task {pending.id}); wait for it or for its failure")
    params: dict[str, Any] = {"rotation": rotation}
    if rotate_keys is not None:
        params["rotate_keys"] = rotate_keys
    if client_request_token is not None:  # a replay of the request finds this task by it
        params["client_request_token"] = client_request_token
    task = tasks.new_task(tx, kind=TaskKind.PUBLIC_CERT_ORDER, trigger=trigger, secret_id=secret.id, params=params,
                          created_by=created_by, now=now)
    info = {"state": ISSUANCE_PENDING, "ordered_on": now.isoformat(), "auto_rotated": trigger == "automatic_secret_rotation"}
    attrs = secret.attributes | {"issuance_info": info}
    if rotation:
        attrs |= {"rotation_state": "pending"}
    tx.update_secret(secret.id, attributes=attrs, updated_at=now)
    return task.id


class PublicCert:
    secret_type = SecretType.PUBLIC_CERT
    user_expiration = False
    has_expiration = True
    rotatable = True
    renews_before_expiry = True  # auto_rotate renews renew_before ahead of expiry
    asynchronous = True  # new versions come from order tasks
    payload_fields = ("certificate", "intermediate", "private_key")
    create_fields = ("common_name", "alt_names", "key_algorithm", "ca", "dns", "bundle_certs", "rotation")
    version_fields = ("rotation",)
    patch_fields = ("rotation",)

    def create(self, fields: dict[str, Any], ctx: HandlerContext) -> Material:
        common_name = fields.get("common_name")
        if not isinstance(common_name, str) or not common_name:
            raise reject("common_name", "is required")
        alt_names = list(fields.get("alt_names") or [])
        try:
            order_names(common_name, alt_names)
        except AcmeConfigurationError as exc:
            raise InvalidInput(exc.message, field="alt_names") from None
        key_algorithm = fields.get("key_algorithm") or KeyAlgorithm.RSA2048.value
        if key_algorithm not in set(KeyAlgorithm):
            raise reject("key_algorithm", f"must be one of {', '.join(KeyAlgorithm)}")
        if not fields.get("ca"):
            raise reject("ca", "the name of an ACME CA configuration is required")
        require(ctx.tx, fields["ca"], CA_TYPES, "ca")
        dns = fields.get("dns")
        if not dns:
            raise reject("dns", "'manual' or the name of a DNS provider configuration is required")
        if dns != MANUAL:
            require(ctx.tx, dns, DNS_TYPES, "dns")
        policy = rotation_policy(fields.get("rotation") or DEFAULT_ROTATION, interval_required=False)
        attributes = {
            "common_name": common_name, "alt_names": alt_names, "key_algorithm": key_algorithm, "ca": fields["ca"],
            "dns": dns, "bundle_certs": bool(fields.get("bundle_certs", True)), "rotation": policy,
            "issuance_info": {"state": ISSUANCE_PENDING, "ordered_on": ctx.now.isoformat()},
        }

        def start(tx: Tx, secret: SecretRecord) -> None:
            start_order(tx, secret, ctx.now, trigger="secret_creation", created_by=ctx.actor.principal, rotation=False)

        return Material(None, attributes=attributes, state=State.PRE_ACTIVATION, start=start)

    def new_version(self, attributes: dict[str, Any], fields: dict[str, Any], current: dict[str, Any] | None,
                    ctx: HandlerContext) -> Material:
        raise InvalidInput("public certificates renew through orders: rotate them instead", field="secret_type")

    def patch(self, attributes: dict[str, Any], fields: dict[str, Any], ctx: HandlerContext | None = None) -> dict[str, Any]:
        out = dict(attributes)
        if fields.get("rotation") is not None:
            out["rotation"] = rotation_policy(fields["rotation"], interval_required=False)
        return out

    def metadata(self, attributes: dict[str, Any]) -> dict[str, Any]:
        return {k: attributes[k] for k in METADATA if k in attributes}

    def version_metadata(self, version_attributes: dict[str, Any]) -> dict[str, Any]:
        return {k: version_attributes[k] for k in ("serial_number", "validity", "expiration_date") if k in version_attributes}
