"""Private certificates: issued from a certificate template by its intermediate CA.

Every requested name is checked against the template; a new version is a new
certificate (a new key unless a CSR is given) from the same request.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cryptography import x509

from lifecycle import versions
from lifecycle.ca_store import LoadedCA, distribution, load_ca, pem, reject
from lifecycle.cert_templates import load_template, name_rules, ttl_for, usage_of
from lifecycle.errors import Forbidden, from_pki_error
from lifecycle.types.base import HandlerContext, Material
from lifecycle.types.generic import DEFAULT_ROTATION, rotation_policy
from lifecycle.vocabulary import SecretType, Stage
from pki.csr import parse_csr
from pki.errors import PkiError, TemplateViolation
from pki.issuance import LeafSpec, issue_leaf
from pki.keys import check_public_key, generate_key, key_algorithm, private_key_pem
from pki.names import Subject, common_name_of, dns_name, outside_name_constraints, sans_of
from pki.parsing import signing_algorithm
from pki.serials import colon_hex
from pki.templates import NameRequest, check_names, effective_request, parse_other_san

REQUEST_FIELDS = ("common_name", "alt_names", "ip_sans", "uri_sans", "other_sans", "format", "private_key_format",
                  "exclude_cn_from_sans", "ttl")
FORMATS = ("pem", "pem_bundle")
KEY_FORMATS = ("der", "pkcs8")


def _list(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(str(i).strip() for i in items if str(i).strip())


class PrivateCert:
    secret_type = SecretType.PRIVATE_CERT
    user_expiration = False
    has_expiration = True
    rotatable = True
    renews_before_expiry = False
    new_version_reads_current = False  # a new certificate is issued from the attributes alone
    payload_fields = ("certificate", "private_key", "issuing_ca", "ca_chain")
    create_fields = ("certificate_template", *REQUEST_FIELDS, "csr", "rotation")
    version_fields = ("csr",)
    patch_fields = ("rotation",)

    def create(self, fields: dict[str, Any], ctx: HandlerContext) -> Material:
        template_name = fields.get("certificate_template")
        if not template_name:
            raise reject("certificate_template", "is required")
        request = {k: fields[k] for k in REQUEST_FIELDS if fields.get(k) is not None}
        if request.get("format", "pem") not in FORMATS:
            raise reject("format", "must be pem or pem_bundle")
        if request.get("private_key_format", "der") not in KEY_FORMATS:
            raise reject("private_key_format", "must be der or pkcs8")
        rotation = rotation_policy(fields.get("rotation") or DEFAULT_ROTATION)
        attributes = {"certificate_template": template_name, "request": request, "rotation": rotation}
        if fields.get("csr"):
            attributes["csr"] = fields["csr"]  # public: the next versions sign it again
        return self._issue(attributes, fields.get("csr"), ctx)

    def new_version(
        self, attributes: dict[str, Any], fields: dict[str, Any], current: dict[str, Any] | None, ctx: HandlerContext
    ) -> Material:
        """A new certificate: for the CSR given, else the last one given (the client keeps its
        key through renewals), else for a new key made here."""
        if fields.get("csr"):
            attributes = attributes | {"csr": fields["csr"]}
        elif not attributes.get("csr") and attributes.get("private_key_included") is False:
            # Issued for a client's key before CSRs were kept: renewed for the key and the names
            # of its current certificate (a key made here would replace the client's unseen).
            return self._issue(attributes, None, ctx, like=self._current_certificate(ctx))
        return self._issue(attributes, attributes.get("csr"), ctx)

    @staticmethod
    def _current_certificate(ctx: HandlerContext) -> x509.Certificate:
        current = ctx.tx.get_staged_version(ctx.secret_id, Stage.CURRENT)
        if current is None or current.payload is None:
            raise reject("csr", "this certificate is for the client's own key and its current version's data is "
                                "erased: give a csr for its new version")
        return x509.load_pem_x509_certificate(versions.open_data(ctx.core, current)["certificate"].encode())

    def _issue(self, attributes: dict[str, Any], csr_pem: str | None, ctx: HandlerContext,
               like: x509.Certificate | None = None) -> Material:
        """Issue from the template: for a new key, or for the key and names of a client's CSR
        (``csr_pem``) or, with ``like``, of a certificate issued for a client's key."""
        template = load_template(ctx.tx, attributes["certificate_template"])
        rules = template.attributes
        allowed_groups = _list(rules.get("allowed_secret_groups"))
        if allowed_groups and ctx.secret_group_id not in allowed_groups:
            raise Forbidden(
                f"certificate_template: template '{template.name}' does not allow secret group '{ctx.secret_group_id}'"
            )
        ca = load_ca(ctx.tx, ctx.core, rules["certificate_authority"], field="certificate_template")
        request = attributes["request"]
        csr: x509.CertificateSigningRequest | x509.Certificate | None = like
        try:
            if csr_pem:
                csr = parse_csr(csr_pem)
            names = self._names(request, rules, csr)
            check_names(name_rules(rules), names, template.name)
            ttl = ttl_for(rules, request.get("ttl"), int(ca.config.attributes["max_ttl_seconds"]))
            if request.get("ttl") is None:  # a default never outlives the CA (a ttl asked for that would is refused)
                ttl = min(ttl, ca.certificate.not_valid_after_utc - ctx.now)
            if csr is not None:
                check_public_key(csr.public_key(), rules.get("key_type") or "rsa", rules.get("key_bits"))
            key = None if csr else generate_key(rules.get("key_type") or "rsa", rules.get("key_bits"))
            public_key = csr.public_key() if csr else key.public_key()  # type: ignore[union-attr]
            crl, issuers = distribution(ctx.core, ca.config.name, ca.config.attributes)
            dns = list(names.alt_names)
            if names.common_name and not names.exclude_cn_from_sans:
                if "@" not in names.common_name:
                    dns_name(names.common_name, "common_name")  # it becomes a DNS name too: the error names the CN
                dns = [names.common_name, *dns]  # an email address CN becomes an email SAN
            outside = outside_name_constraints([ca.certificate, *ca.chain], [n for n in dns if "@" not in n])
            if outside is not None:
                name, rule = outside
                field = "common_name" if name == names.common_name else "alt_names"
                raise TemplateViolation(f"{field}: '{name}' is outside the {rule}", field=field)
            spec = LeafSpec(
                subject=Subject.from_fields(names.common_name, rules),
                dns_names=tuple(dns),
                ip_sans=names.ip_sans,
                uri_sans=names.uri_sans,
                other_sans=tuple(parse_other_san(o) for o in names.other_sans),
                ttl=ttl,
                usage=usage_of(rules),
                not_before_duration=_seconds(rules.get("not_before_duration_seconds", 30)),
                crl_urls=crl,
                issuer_urls=issuers,
            )
            cert = issue_leaf(ca.certificate, ca.key, public_key, spec, ctx.now)
        except PkiError as exc:
            raise from_pki_error(exc) from None
        return self._material(attributes, cert, key, public_key, ca, request, names.common_name,
                              list(dict.fromkeys(dns)))

    @staticmethod
    def _names(request: dict[str, Any], rules: dict[str, Any],
               csr: x509.CertificateSigningRequest | x509.Certificate | None) -> NameRequest:
        asked = NameRequest(
            common_name=request.get("common_name"), alt_names=_list(request.get("alt_names")),
            ip_sans=_list(request.get("ip_sans")), uri_sans=_list(request.get("uri_sans")),
            other_sans=_list(request.get("other_sans")), exclude_cn_from_sans=bool(request.get("exclude_cn_from_sans")),
        )
        if csr is None:
            return asked
        sans = sans_of(csr)
        in_csr = NameRequest(common_name=common_name_of(csr.subject), alt_names=tuple(sans["alt_names"]),
                             ip_sans=tuple(sans["ip_sans"]), uri_sans=tuple(sans["uri_sans"]))
        return effective_request(name_rules(rules), asked, in_csr)

    def _material(self, attributes: dict[str, Any], cert: x509.Certificate, key: Any, public_key: Any, ca: LoadedCA,
                  request: dict[str, Any], common_name: str | None, alt_names: list[str]) -> Material:
        """The version's data and the secret's attributes; ``alt_names`` are the DNS names the
        certificate was just built with (its SAN extension, not parsed back)."""
        cert_pem = pem(cert)
        data: dict[str, Any] = {"certificate": cert_pem, "issuing_ca": ca.certificate_pem, "ca_chain": ca.chain_pems}
        if key is not None:
            data["private_key"] = private_key_pem(key, request.get("private_key_format", "der"))
        if request.get("format") == "pem_bundle":
            data["certificate"] = cert_pem + data.get("private_key", "") + data["issuing_ca"]
        validity = {"not_before": _iso(cert.not_valid_before_utc), "not_after": _iso(cert.not_valid_after_utc)}
        serial = colon_hex(cert.serial_number)
        new_attributes = attributes | {
            "certificate_authority": ca.config.name,
            "common_name": common_name or "",
            "alt_names": alt_names,
            "serial_number": serial,
            "issuer": ca.subject,
            "key_algorithm": key_algorithm(public_key),
            "signing_algorithm": signing_algorithm(cert),
            "validity": validity,
            "private_key_included": key is not None,
        }
        for revoked in ("revocation_time_seconds", "revocation_time_rfc3339"):  # a new certificate is not revoked
            new_attributes.pop(revoked, None)
        return Material(
            data=data,
            attributes=new_attributes,
            version_attributes={"serial_number": serial, "validity": validity, "expiration_date": validity["not_after"],
                                "certificate_authority": ca.config.name},
            expiration_date=cert.not_valid_after_utc,
        )

    def patch(self, attributes: dict[str, Any], fields: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
        out = dict(attributes)
        if fields.get("rotation") is not None:
            out["rotation"] = rotation_policy(fields["rotation"])
        return out

    def metadata(self, attributes: dict[str, Any]) -> dict[str, Any]:
        keys = ("certificate_template", "certificate_authority", "common_name", "alt_names", "serial_number", "issuer",
                "key_algorithm", "signing_algorithm", "validity", "rotation", "revocation_time_seconds",
                "revocation_time_rfc3339")
        return {k: attributes[k] for k in keys if k in attributes}

    def version_metadata(self, version_attributes: dict[str, Any]) -> dict[str, Any]:
        return {k: version_attributes[k] for k in ("serial_number", "validity", "expiration_date") if k in version_attributes}


def _seconds(value: Any) -> timedelta:
    return timedelta(seconds=int(value))


def _iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")
