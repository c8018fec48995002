"""Request models for engine configurations (private CAs, templates) and their actions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from api.schemas.secrets import Strict

Duration = StrictInt | StrictStr
StrList = list[StrictStr]
IpOrUriSans = StrictStr | StrList  # the contract sends a comma-separated string; lists are accepted too


class SubjectFields(Strict):
    ou: StrList | None = None
    organization: StrList | None = None
    country: StrList | None = None
    locality: StrList | None = None
    province: StrList | None = None
    street_address: StrList | None = None
    postal_code: StrList | None = None
    serial_number: StrictStr | None = None


class CAFields(SubjectFields):
    name: StrictStr
    common_name: StrictStr | None = None
    alt_names: StrList | None = None
    ip_sans: IpOrUriSans | None = None
    uri_sans: IpOrUriSans | None = None
    other_sans: StrList | None = None
    max_ttl: Duration | None = None
    crl_expiry: Duration | None = None
    crl_disable: StrictBool | None = None
    crl_distribution_points_encoded: StrictBool | None = None
    issuing_certificates_urls_encoded: StrictBool | None = None
    format: Literal["pem", "pem_bundle"] | None = None
    private_key_format: Literal["der", "pkcs8"] | None = None
    key_type: Literal["rsa", "ec"] | None = None
    key_bits: StrictInt | None = None
    exclude_cn_from_sans: StrictBool | None = None


class RootCAPrototype(CAFields):
    config_type: Literal["private_cert_configuration_root_ca"]
    ttl: Duration | None = None
    max_path_length: StrictInt | None = None
    permitted_dns_domains: StrList | None = None


class IntermediateCAPrototype(CAFields):
    config_type: Literal["private_cert_configuration_intermediate_ca"]
    signing_method: Literal["internal", "external"] | None = None
    issuer: StrictStr | None = None


class TemplatePrototype(SubjectFields):
    config_type: Literal["private_cert_configuration_template"]
    name: StrictStr
    certificate_authority: StrictStr
    allowed_secret_groups: StrictStr | None = None
    max_ttl: Duration | None = None
    ttl: Duration | None = None
    allow_localhost: StrictBool | None = None
    allowed_domains: StrList | None = None
    allowed_domains_template: StrictBool | None = None
    allow_bare_domains: StrictBool | None = None
    allow_subdomains: StrictBool | None = None
    allow_glob_domains: StrictBool | None = None
    allow_wildcard_certificates: StrictBool | None = None
    allow_any_name: StrictBool | None = None
    enforce_hostnames: StrictBool | None = None
    allow_ip_sans: StrictBool | None = None
    allowed_uri_sans: StrList | None = None
    allowed_other_sans: StrList | None = None
    server_flag: StrictBool | None = None
    client_flag: StrictBool | None = None
    code_signing_flag: StrictBool | None = None
    email_protection_flag: StrictBool | None = None
    key_type: Literal["rsa", "ec"] | None = None
    key_bits: StrictInt | None = None
    key_usage: StrList | None = None
    ext_key_usage: StrList | None = None
    ext_key_usage_oids: StrList | None = None
    use_csr_common_name: StrictBool | None = None
    use_csr_sans: StrictBool | None = None
    require_cn: StrictBool | None = None
    policy_identifiers: StrList | None = None
    basic_constraints_valid_for_non_ca: StrictBool | None = None
    not_before_duration: Duration | None = None


class LetsEncryptPrototype(Strict):
    config_type: Literal["public_cert_configuration_ca_lets_encrypt"]
    name: StrictStr
    lets_encrypt_environment: Literal["production", "staging"]
    lets_encrypt_private_key: StrictStr | None = None
    lets_encrypt_preferred_chain: StrictStr | None = None


class AcmeCAPrototype(Strict):
    """certkeeper extension: any RFC 8555 CA."""

    config_type: Literal["public_cert_configuration_ca_acme"]
    name: StrictStr
    directory_url: StrictStr
    ca_bundle: StrictStr | None = None
    private_key: StrictStr | None = None
    eab_key_id: StrictStr | None = None
    eab_hmac_key: StrictStr | None = None
    preferred_chain: StrictStr | None = None


class CisPrototype(Strict):
    config_type: Literal["public_cert_configuration_dns_cloud_internet_services"]
    name: StrictStr
    cloud_internet_services_crn: StrictStr
    cloud_internet_services_apikey: StrictStr
    service_url: StrictStr | None = None  # certkeeper: defaults to IBM's public endpoint
    iam_url: StrictStr | None = None  # certkeeper: the IAM token endpoint's base URL
    resolvers: StrList | None = None  # certkeeper: "host:port" resolvers for the propagation check


ConfigurationPrototype = Annotated[
    RootCAPrototype | IntermediateCAPrototype | TemplatePrototype | LetsEncryptPrototype | AcmeCAPrototype
    | CisPrototype,
    Field(discriminator="config_type"),
]

def _patch_of(name: str, prototype: type[Strict], *fixed: str) -> type[Strict]:
    """The prototype's fields, each optional (left out: unchanged), but its name, its type and
    ``fixed``, which no patch changes."""
    fields = {k: v for k, v in prototype.model_fields.items() if k not in ("config_type", "name", *fixed)}
    return type(name, (Strict,), {"__annotations__": {k: v.annotation for k, v in fields.items()},
                                  **{k: None for k in fields}})


TemplatePatch = _patch_of("TemplatePatch", TemplatePrototype, "certificate_authority")


class CAPatch(Strict):
    max_ttl: Duration | None = None
    crl_expiry: Duration | None = None
    crl_disable: StrictBool | None = None
    crl_distribution_points_encoded: StrictBool | None = None
    issuing_certificates_urls_encoded: StrictBool | None = None


LetsEncryptPatch = _patch_of("LetsEncryptPatch", LetsEncryptPrototype)
AcmeCAPatch = _patch_of("AcmeCAPatch", AcmeCAPrototype)
CisPatch = _patch_of("CisPatch", CisPrototype)
ConfigurationPatch = CAPatch | TemplatePatch | LetsEncryptPatch | AcmeCAPatch | CisPatch  # by the configuration's type


class ConfigurationAction(SubjectFields):
    action_type: StrictStr
    intermediate_certificate_authority: StrictStr | None = None
    csr: StrictStr | None = None
    certificate: StrictStr | None = None
    common_name: StrictStr | None = None
    alt_names: StrList | None = None
    ip_sans: IpOrUriSans | None = None
    uri_sans: IpOrUriSans | None = None
    other_sans: StrList | None = None
    ttl: Duration | None = None
    format: Literal["pem", "pem_bundle"] | None = None
    max_path_length: StrictInt | None = None
    exclude_cn_from_sans: StrictBool | None = None
    permitted_dns_domains: StrList | None = None
    use_csr_values: StrictBool | None = None


class SecretAction(Strict):
    action_type: StrictStr


def fields_of(model: Any) -> dict[str, Any]:
    return model.model_dump(exclude_none=True)
