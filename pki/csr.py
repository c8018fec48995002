"""Certificate signing requests from users: parse, verify, read their names."""

from __future__ import annotations

from cryptography import x509

from pki.errors import InvalidRequest

MAX_CSR_BYTES = 64 * 1024


def parse_csr(pem: str, field: str = "csr") -> x509.CertificateSigningRequest:
    """Raises InvalidRequest when the text is not one PEM CSR with a valid signature."""
    if len(pem.encode()) > MAX_CSR_BYTES:
        raise InvalidRequest(f"{field}: larger than {MAX_CSR_BYTES} bytes", field=field)
    if "-----BEGIN CERTIFICATE REQUEST-----" not in pem and "-----BEGIN NEW CERTIFICATE REQUEST-----" not in pem:
        raise InvalidRequest(f"{field}: not a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----)", field=field)
    try:
        csr = x509.load_pem_x509_csr(pem.strip().encode())
    except ValueError:
        raise InvalidRequest(f"{field}: the PEM certificate request cannot be parsed", field=field) from None
    if not csr.is_signature_valid:
        raise InvalidRequest(f"{field}: its signature does not verify", field=field)
    return csr
