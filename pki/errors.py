"""The errors of X.509 work: one leaf per way an input can be wrong, each with a stable code.

`pki` never imports `lifecycle`, so this hierarchy has its own root; the core turns
a `PkiError` into its own input errors (`lifecycle.errors.from_pki_error`). Messages
name the field and the problem and never contain key material.
"""

from __future__ import annotations


class PkiError(Exception):
    """Root of the errors `pki` raises on purpose; ``code`` is stable, ``field`` names the input."""

    code = "invalid_pki_input"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidRequest(PkiError):
    """A request to build or sign something (key spec, CSR, CA, leaf) breaks a rule."""

    code = "invalid_request"


class TemplateViolation(PkiError):
    """A requested name or usage is not allowed by the certificate template."""

    code = "template_violation"


class InputTooLarge(PkiError):
    """The input is over its size cap; checked before any parsing."""

    code = "payload_too_large"


class EmptyInput(PkiError):
    code = "empty_input"


class NotPem(PkiError):
    """No PEM block at all (garbage, or a format we do not take)."""

    code = "not_pem"


class LooksLikeDer(NotPem):
    """Binary (or base64) DER instead of PEM."""

    code = "der_not_pem"


class LooksLikePkcs12(NotPem):
    """A PKCS#12 / PFX bundle instead of PEM."""

    code = "pkcs12_not_pem"


class MalformedPem(PkiError):
    """PEM armour that is broken: a BEGIN without its END (truncated), bad base64, mismatched labels."""

    code = "malformed_pem"


class TextOutsidePem(MalformedPem):
    """Non-blank text before, between or after the PEM blocks (trailing junk)."""

    code = "text_outside_pem"


class NotACertificate(PkiError):
    """PEM, but of something else (a key, a CSR) where a certificate is expected."""

    code = "not_a_certificate"


class InvalidCertificate(PkiError):
    """A CERTIFICATE block whose content is not a valid X.509 certificate."""

    code = "invalid_certificate"


class MultipleCertificates(PkiError):
    code = "multiple_certificates"


class CertificateIsCA(PkiError):
    """The certificate to import claims to be a CA (basicConstraints cA=TRUE)."""

    code = "certificate_is_ca"


class NotAPrivateKey(PkiError):
    code = "not_a_private_key"


class MultiplePrivateKeys(PkiError):
    code = "multiple_private_keys"


class InvalidPrivateKey(PkiError):
    code = "invalid_private_key"


class PrivateKeyEncrypted(PkiError):
    code = "private_key_encrypted"


class UnsupportedKey(PkiError):
    """A key type certkeeper does not handle (DSA, ...)."""

    code = "unsupported_key_type"


class PrivateKeyMismatch(PkiError):
    """The private key is not the key of the certificate."""

    code = "private_key_mismatch"


class IntermediateNotIssuer(PkiError):
    """No certificate of the intermediate bundle signed the certificate."""

    code = "intermediate_not_issuer"


class ChainBroken(PkiError):
    """The intermediate bundle holds a certificate that is not part of the certificate's chain."""

    code = "intermediate_chain_broken"


class InvalidCsrOptions(PkiError):
    """A managed CSR option breaks a rule (unknown key type, bad IP SAN, missing common name...)."""

    code = "invalid_csr_options"
