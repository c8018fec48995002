"""Imported certificates: the certificate, intermediate bundle and private key users bring,
checked by `pki.parsing`. A reimport is a new version made only of what it sends: nothing
of the previous version's key or intermediate is carried over.

Managed CSR: certkeeper generates a key and a CSR from `managed_csr`. The key lives only
in sealed version data (``data["managed_csr"]["private_key"]``, rewrapped by root key
rotation like any payload); the CSR and its options live in the secret's attributes, so
metadata readers see them. Importing the signed certificate without a key pairs it with
the held key and refuses one that does not match; with `rotate_keys` each such import
also starts the next CSR on a new key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from lifecycle import versions
from lifecycle.errors import InvalidInput, from_pki_error
from lifecycle.types.base import HandlerContext, Material
from lifecycle.vocabulary import SecretType, Stage, State
from pki.csr_builder import CsrOptions, build_csr, csr_pem, key_params_of
from pki.errors import PkiError
from pki.keys import generate_key, key_algorithm
from pki.parsing import ImportedKey, check_import, check_key_matches, describe, parse_private_key, private_key_pem

PEM_FIELDS = ("certificate", "intermediate", "private_key")
INFO_FIELDS = ("common_name", "alt_names", "issuer", "serial_number", "validity", "key_algorithm",
               "signing_algorithm", "intermediate_included", "private_key_included")
HeldKey = tuple[ImportedKey, str]  # the managed CSR's key and its PEM as stored


@contextmanager
def pki_input(prefix: str | None = None) -> Iterator[None]:
    """Turn `pki` errors raised inside into the core's 400 / 413 input errors."""
    try:
        yield
    except PkiError as exc:
        raise from_pki_error(exc, prefix=prefix) from None


class ImportedCert:
    secret_type = SecretType.IMPORTED_CERT
    has_expiration = True
    user_expiration = False  # the certificate's notAfter is the expiration date
    rotatable = False  # renewal is a reimport by the user
    renews_before_expiry = False
    payload_fields = (*PEM_FIELDS, "managed_csr")
    create_fields = (*PEM_FIELDS, "managed_csr")
    version_fields = PEM_FIELDS
    patch_fields = ("managed_csr",)

    def create(self, fields: dict[str, Any], ctx: HandlerContext) -> Material:
        pems = _pem_fields(fields)
        if fields.get("managed_csr") is None:
            if "certificate" not in pems:
                raise InvalidInput(
                    "certificate: is required (or send managed_csr to have certkeeper make the key and a CSR)",
                    field="certificate",
                )
            return _import(pems, {}, None)
        if pems:
            first = next(iter(pems))
            raise InvalidInput(
                f"{first}: send either a certificate to import or managed_csr, not both "
                "(a metadata patch adds a managed CSR to an imported certificate)",
                field=first,
            )
        options = _options(fields["managed_csr"])
        with pki_input("managed_csr"):
            key = generate_key(options.key_type, options.key_bits)
        nothing = {"intermediate_included": False, "private_key_included": False}
        return Material(
            data={"managed_csr": {"private_key": private_key_pem(key)}},
            attributes={"managed_csr": _with_csr(key, options), **nothing},
            version_attributes={**nothing, "expiration_date": None},
            state=State.PRE_ACTIVATION,  # until the signed certificate is imported
        )

    def new_version(
        self, attributes: dict[str, Any], fields: dict[str, Any], current: dict[str, Any] | None, ctx: HandlerContext
    ) -> Material:
        pems = _pem_fields(fields)
        if "certificate" not in pems:
            raise InvalidInput("certificate: is required", field="certificate")
        managed = attributes.get("managed_csr")
        if managed is None:
            return _import(pems, {}, None)
        return _import(pems, {"managed_csr": managed}, _held_key(current))

    def patch(self, attributes: dict[str, Any], fields: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
        """A new CSR from the merged options, signed with the held key (the managed key, or the
        current certificate's key when the secret had no managed CSR yet)."""
        value = fields.get("managed_csr")
        if value is None:
            return attributes
        if not isinstance(value, dict):
            raise InvalidInput("managed_csr: must be an object", field="managed_csr")
        held = _held_key(_current_data(ctx))
        if held is None:
            raise InvalidInput(
                "managed_csr: this secret holds no private key to sign a CSR with; "
                "import the certificate with its private_key, or create the secret with managed_csr",
                field="managed_csr",
            )
        stored = {k: v for k, v in (attributes.get("managed_csr") or {}).items() if k != "csr"}
        held_params = key_params_of(held[0])
        if not stored and held_params:  # the first CSR for an imported key describes that key
            stored = {"key_type": held_params[0], "key_bits": held_params[1]}
        if "key_type" in value and "key_bits" not in value:
            stored.pop("key_bits", None)  # the new type's default size
        options = _options(stored | value)
        if held_params != (options.key_type, options.key_bits) and not options.rotate_keys:
            raise InvalidInput(
                f"managed_csr.key_type: the CSR's key is {key_algorithm(held[0].public_key())}; "
                f"for a {options.key_type} {options.key_bits}-bit key set rotate_keys "
                "(the new key comes with the next import)",
                field="managed_csr.key_type",
            )
        return attributes | {"managed_csr": _with_csr(held[0], options)}

    def metadata(self, attributes: dict[str, Any]) -> dict[str, Any]:
        return {k: attributes[k] for k in (*INFO_FIELDS, "managed_csr") if k in attributes}

    def version_metadata(self, version_attributes: dict[str, Any]) -> dict[str, Any]:
        # A version shows its own certificate's expiry, not the secret's (which is the current one's).
        shown = {k: version_attributes[k] for k in INFO_FIELDS if k in version_attributes}
        return shown | {"expiration_date": version_attributes.get("expiration_date")}


def _pem_fields(fields: dict[str, Any]) -> dict[str, str]:
    """The PEM fields sent, in order; empty strings count as not sent."""
    out: dict[str, str] = {}
    for name in PEM_FIELDS:
        value = fields.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise InvalidInput(f"{name}: must be a string of PEM text", field=name)
        out[name] = value
    return out


def _import(pems: dict[str, str], attributes: dict[str, Any], held: HeldKey | None) -> Material:
    """One version from the PEM fields; pairs a key-less certificate with the held key of a managed CSR."""
    managed = attributes.get("managed_csr")
    with pki_input():
        imported = check_import(pems["certificate"], pems.get("intermediate"), pems.get("private_key"))
        if imported.key is None and held is not None:
            check_key_matches(imported.certificate, held[0], field="certificate",
                              what="the key of the managed CSR (sign the CSR in managed_csr.csr)")
            imported = replace(imported, key=held[0], key_pem=held[1])
    if managed is not None and imported.key is None:
        raise InvalidInput(
            "private_key: is required: the managed CSR's key went with the erased data of the current version",
            field="private_key",
        )
    data: dict[str, Any] = {"certificate": imported.certificate_pem}
    if imported.chain_pem:
        data["intermediate"] = imported.chain_pem
    if imported.key_pem:
        data["private_key"] = imported.key_pem
    info = describe(imported.certificate)
    shown = {
        "common_name": info.common_name or "",
        "alt_names": list(info.alt_names),
        "issuer": info.issuer,
        "serial_number": info.serial_number,
        "validity": {"not_before": _iso(info.not_before), "not_after": _iso(info.not_after)},
        "key_algorithm": info.key_algorithm,
        "signing_algorithm": info.signing_algorithm,
        "intermediate_included": bool(imported.chain),
        "private_key_included": imported.key is not None,
    }
    new_attributes = dict(attributes) | shown
    if managed is not None:
        options = _options({k: v for k, v in managed.items() if k != "csr"})
        if held is None or options.rotate_keys:  # the next CSR gets a new key
            with pki_input("managed_csr"):
                key = generate_key(options.key_type, options.key_bits)
            held = (key, private_key_pem(key))
            new_attributes["managed_csr"] = _with_csr(key, options)
        data["managed_csr"] = {"private_key": held[1]}
    return Material(
        data,
        attributes=new_attributes,
        version_attributes=shown | {"expiration_date": shown["validity"]["not_after"]},
        expiration_date=info.not_after,
    )


def _options(value: Any) -> CsrOptions:
    if not isinstance(value, dict):
        raise InvalidInput("managed_csr: must be an object", field="managed_csr")
    with pki_input("managed_csr"):
        return CsrOptions.from_fields(value)


def _with_csr(key: ImportedKey, options: CsrOptions) -> dict[str, Any]:
    """The options as stored and shown, with the CSR they make for ``key``."""
    with pki_input("managed_csr"):
        csr = build_csr(key, options)  # type: ignore[arg-type]
    return options.to_dict() | {"csr": csr_pem(csr)}


def _held_key(current: dict[str, Any] | None) -> HeldKey | None:
    """The key the next CSR is signed with: the managed one, else the current certificate's."""
    if not current:
        return None
    pem = (current.get("managed_csr") or {}).get("private_key") or current.get("private_key")
    if not pem:
        return None
    with pki_input():
        key, _ = parse_private_key(pem)
    return key, pem


def _current_data(ctx: HandlerContext) -> dict[str, Any] | None:
    if Stage.CURRENT not in ctx.tx.get_stages(ctx.secret_id):
        return None
    version = versions.resolve(ctx.tx, ctx.secret_id, Stage.CURRENT)
    return versions.open_data(ctx.core, version) if version.payload is not None else None


def _iso(value: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as every other date on the wire."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
