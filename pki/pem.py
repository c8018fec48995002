"""PEM armour read strictly: blocks, their labels and DER, and a diagnosis of what a
non-PEM input looks like (DER, PKCS#12, base64 of either).

Reading is linear in the input (one regex pass over the markers, no backtracking
across blocks), so a megabyte of `-----BEGIN` noise costs no more than any other
megabyte; callers cap sizes before calling. Anything that is not blank outside the
blocks is refused rather than skipped, so trailing junk never slips through.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from pki.errors import LooksLikeDer, LooksLikePkcs12, MalformedPem, NotPem, TextOutsidePem

# RFC 7468 labels are printable ASCII without '-'; real ones are short upper-case words.
_MARKER = re.compile(r"-----(BEGIN|END) ([A-Z0-9][A-Z0-9 ]{0,63})-----")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")


@dataclass(frozen=True, slots=True)
class PemBlock:
    label: str
    der: bytes
    headers: tuple[str, ...] = ()  # RFC 1421 headers (Proc-Type, DEK-Info) of legacy encrypted keys


def as_text(value: str | bytes, field: str) -> str:
    """The input as text; binary input (a DER or PKCS#12 file) raises its diagnosis."""
    if isinstance(value, str):
        return value
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        raise not_pem(value, field) from None


def read_blocks(value: str | bytes, field: str) -> list[PemBlock]:
    """Every PEM block, in order. Raises NotPem (and its DER / PKCS#12 leaves) when there is
    no block, MalformedPem for broken armour (a BEGIN without END is a truncated input),
    TextOutsidePem for non-blank text around the blocks."""
    text = as_text(value, field)
    blocks: list[PemBlock] = []
    opened: re.Match[str] | None = None
    pos = 0
    for marker in _MARKER.finditer(text):
        kind, label = marker.group(1), marker.group(2)
        if opened is None:
            if kind == "END":
                raise MalformedPem(f"{field}: '-----END {label}-----' has no BEGIN line before it", field=field)
            _refuse_text(text[pos : marker.start()], field, "before the first PEM block" if not blocks else "between the PEM blocks")
            opened = marker
        else:
            if kind == "BEGIN":
                raise MalformedPem(
                    f"{field}: '-----BEGIN {opened.group(2)}-----' is not closed before the next BEGIN line "
                    "(is the PEM truncated?)",
                    field=field,
                )
            if label != opened.group(2):
                raise MalformedPem(
                    f"{field}: '-----BEGIN {opened.group(2)}-----' is closed by '-----END {label}-----'", field=field
                )
            blocks.append(_decode(opened.group(2), text[opened.end() : marker.start()], field))
            opened = None
        pos = marker.end()
    if opened is not None:
        raise MalformedPem(
            f"{field}: '-----BEGIN {opened.group(2)}-----' has no END line (is the PEM truncated?)", field=field
        )
    if not blocks:
        raise not_pem(text, field)
    _refuse_text(text[pos:], field, "after the last PEM block")
    return blocks


def _refuse_text(text: str, field: str, where: str) -> None:
    if text.strip():
        raise TextOutsidePem(
            f"{field}: has text {where}; send only PEM blocks (-----BEGIN ...----- to -----END ...-----)",
            field=field,
        )


def _decode(label: str, body: str, field: str) -> PemBlock:
    lines = body.strip().splitlines()
    headers: list[str] = []
    while lines and ":" in lines[0]:  # RFC 1421 encapsulated headers, ended by a blank line
        headers.append(lines.pop(0).strip())
    payload = "".join("".join(lines).split())
    try:
        der = binascii.a2b_base64(payload, strict_mode=True)
    except binascii.Error:
        raise MalformedPem(f"{field}: the '{label}' block is not valid base64", field=field) from None
    if not der:
        raise MalformedPem(f"{field}: the '{label}' block is empty", field=field)
    return PemBlock(label, der, tuple(headers))


def armor(label: str, der: bytes) -> str:
    """PEM text with 64-column base64 lines, as RFC 7468 writes it."""
    b64 = binascii.b2a_base64(der, newline=False).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def not_pem(value: str | bytes, field: str) -> NotPem:
    """The error for an input with no PEM block, saying what it looks like when we can tell."""
    raw = _binary_of(value)
    what = _sniff(raw) if raw else None
    if what == "pkcs12":
        return LooksLikePkcs12(
            f"{field}: looks like a PKCS#12 (.p12/.pfx) bundle, not PEM; extract the parts with "
            "'openssl pkcs12 -in bundle.p12 -nodes' and send them as PEM",
            field=field,
        )
    if what is not None:
        return LooksLikeDer(
            f"{field}: looks like DER ({what}), not PEM; convert it, e.g. "
            "'openssl x509 -inform der -in cert.der -out cert.pem'",
            field=field,
        )
    return NotPem(f"{field}: is not PEM (no '-----BEGIN ...-----' line)", field=field)


def _binary_of(value: str | bytes) -> bytes | None:
    """The bytes a non-PEM input stands for: itself, its latin-1 code points, or its base64."""
    if isinstance(value, bytes):
        return value
    stripped = value.strip()
    if stripped[:1] == "\x30" and all(ord(c) < 256 for c in stripped):
        return stripped.encode("latin-1")  # binary pasted into a JSON string byte by byte
    if stripped and _BASE64.fullmatch(stripped):
        try:
            return binascii.a2b_base64("".join(stripped.split()), strict_mode=True)
        except binascii.Error:
            return None
    return None


def _sniff(raw: bytes) -> str | None:
    """'pkcs12', a description of the DER content, or None when it is not DER at all."""
    if len(raw) < 4 or raw[0] != 0x30:  # every structure here is a DER SEQUENCE
        return None
    size = raw[1] & 0x7F if raw[1] & 0x80 else 0
    if raw[2 + size : 5 + size] == b"\x02\x01\x03":  # RFC 7292: PFX ::= SEQUENCE { version INTEGER {v3(3)}, ...
        return "pkcs12"
    try:
        x509.load_der_x509_certificate(raw)
        return "a certificate"
    except ValueError:
        pass
    try:
        serialization.load_der_private_key(raw, password=None)
        return "a private key"
    except TypeError:  # a password is needed: an encrypted PKCS#8 key
        return "an encrypted private key"
    except (ValueError, UnsupportedAlgorithm):
        return "binary ASN.1"
