"""Parsing and checking imported certificates, bundles and keys, one case of the corpus each."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from cryptography import x509

from fixtures.certs import certificate, data, text
from pki import errors
from pki.parsing import (
    MAX_PEM_BYTES,
    check_import,
    describe,
    order_chain,
    parse_bundle,
    parse_certificate,
    parse_private_key,
)


def assert_refused(exc_class: type[errors.PkiError], field: str, fragment: str, call, *args) -> errors.PkiError:  # type: ignore[no-untyped-def]
    with pytest.raises(exc_class) as info:
        call(*args)
    assert type(info.value) is exc_class, f"{type(info.value).__name__} is not exactly {exc_class.__name__}"
    assert info.value.field == field
    assert info.value.message.startswith(f"{field}: ")
    assert fragment in info.value.message
    return info.value


# --- good inputs --------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["rsa", "ec"])
def test_good_chain_imports_with_key_and_ordered_bundle(family: str) -> None:
    imported = check_import(text(f"{family}-leaf.pem"), text(f"{family}-chain.pem"), text(f"{family}-leaf.key"))
    assert imported.certificate == certificate(f"{family}-leaf.pem")
    assert imported.chain == (certificate(f"{family}-intermediate.pem"), certificate(f"{family}-root.pem"))
    assert imported.chain_pem == text(f"{family}-chain.pem")
    assert imported.key_pem == text(f"{family}-leaf.key")  # PKCS#1 / SEC1 kept as sent


def test_bundle_out_of_order_is_put_in_chain_order() -> None:
    imported = check_import(text("rsa-leaf.pem"), text("rsa-chain-reversed.pem"))
    assert imported.chain_pem == text("rsa-chain.pem")


def test_bundle_of_just_the_issuer_is_enough() -> None:
    assert check_import(text("ec-leaf.pem"), text("ec-intermediate.pem")).chain == (certificate("ec-intermediate.pem"),)


def test_pkcs8_key_and_self_signed_leaf_are_accepted() -> None:
    imported = check_import(text("self-signed.pem"), None, text("self-signed.key"))
    assert imported.key_pem == text("self-signed.key")


def test_bytes_input_is_read_as_pem() -> None:
    assert parse_certificate(data("rsa-leaf.pem")) == certificate("rsa-leaf.pem")


def test_crlf_line_ends_and_surrounding_blank_lines_are_fine() -> None:
    pem = "\r\n\r\n" + text("ec-leaf.pem").replace("\n", "\r\n") + "\r\n  \r\n"
    assert parse_certificate(pem) == certificate("ec-leaf.pem")


@pytest.mark.parametrize("name", ["expired.pem", "not-yet-valid.pem"])
def test_certificates_outside_their_validity_are_accepted(name: str) -> None:
    assert check_import(text(name)).certificate == certificate(name)


def test_describe_gives_the_contract_fields() -> None:
    info = describe(certificate("rsa-leaf.pem"))
    assert info.common_name == "rsa.example.com"
    assert info.alt_names == ("rsa.example.com", "www.rsa.example.com")
    assert info.issuer == "CN=rsa test intermediate CA,O=certkeeper test corpus"
    assert info.serial_number == "10:10"
    assert (info.not_before, info.not_after) == (datetime(2025, 1, 1, tzinfo=UTC), datetime(2035, 1, 1, tzinfo=UTC))
    assert (info.key_algorithm, info.signing_algorithm) == ("RSA2048", "SHA256-RSA")
    ec = describe(certificate("ec-leaf.pem"))
    assert (ec.key_algorithm, ec.signing_algorithm) == ("ECDSA256", "SHA256-ECDSA")


# --- not PEM ------------------------------------------------------------------------------


def test_garbage_is_not_pem() -> None:
    assert_refused(errors.NotPem, "certificate", "is not PEM", parse_certificate, text("garbage.txt"))


def test_der_file_is_recognised() -> None:
    assert_refused(errors.LooksLikeDer, "certificate", "DER (a certificate)", parse_certificate, data("rsa-leaf.der"))


def test_base64_of_der_is_recognised() -> None:
    assert_refused(errors.LooksLikeDer, "certificate", "DER", parse_certificate, text("rsa-leaf.der.b64"))


def test_der_pasted_as_latin1_text_is_recognised() -> None:
    assert_refused(errors.LooksLikeDer, "certificate", "DER", parse_certificate, data("rsa-leaf.der").decode("latin-1"))


def test_pkcs12_is_recognised() -> None:
    assert_refused(errors.LooksLikePkcs12, "certificate", "PKCS#12", parse_certificate, data("rsa-leaf.p12"))


def test_pkcs12_in_key_field_is_recognised() -> None:
    assert_refused(errors.LooksLikePkcs12, "private_key", "PKCS#12", parse_private_key, data("rsa-leaf.p12"))


# --- broken PEM ---------------------------------------------------------------------------


def test_truncated_pem_is_malformed() -> None:
    assert_refused(errors.MalformedPem, "certificate", "truncated", parse_certificate, text("truncated.pem"))


def test_trailing_junk_is_refused() -> None:
    assert_refused(errors.TextOutsidePem, "certificate", "after the last PEM block", parse_certificate, text("trailing-junk.pem"))


def test_leading_text_is_refused() -> None:
    assert_refused(errors.TextOutsidePem, "certificate", "before the first PEM block", parse_certificate, text("leading-junk.pem"))


def test_bad_base64_is_malformed() -> None:
    assert_refused(errors.MalformedPem, "certificate", "not valid base64", parse_certificate, text("bad-base64.pem"))


def test_mismatched_end_label_is_malformed() -> None:
    assert_refused(errors.MalformedPem, "certificate", "is closed by", parse_certificate, text("mismatched-labels.pem"))


def test_corrupt_der_inside_pem_is_invalid_certificate() -> None:
    assert_refused(errors.InvalidCertificate, "certificate", "not a valid X.509", parse_certificate, text("corrupt-certificate.pem"))


def test_empty_input_is_refused() -> None:
    assert_refused(errors.EmptyInput, "certificate", "must not be empty", parse_certificate, "  \n")


# --- sizes and noise ----------------------------------------------------------------------


def test_megabyte_of_begin_noise_is_too_large_before_parsing() -> None:
    noise = text("begin-noise.txt")
    assert len(noise) >= 1024 * 1024 - 10
    assert_refused(errors.InputTooLarge, "certificate", "over the limit of 102400 bytes", parse_certificate, noise)


@pytest.mark.parametrize("noise", ["-----BEGIN", "-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE-----\n", "-----END X-----"])
def test_begin_noise_under_the_cap_is_refused_quickly(noise: str) -> None:
    value = noise * ((MAX_PEM_BYTES - 1) // len(noise))
    started = time.perf_counter()
    with pytest.raises((errors.NotPem, errors.MalformedPem)):
        parse_certificate(value)
    assert time.perf_counter() - started < 0.5  # linear scan; a backtracking regex would take seconds


def test_size_caps_are_checked_before_anything_is_parsed() -> None:
    too_big_key = "x" * (MAX_PEM_BYTES + 1)
    # The certificate is garbage too, but the key's size is what is reported: caps come first.
    assert_refused(errors.InputTooLarge, "private_key", "over the limit", check_import, "garbage", None, too_big_key)


def test_exactly_the_cap_is_allowed_through_to_parsing() -> None:
    padded = text("rsa-leaf.pem") + "\n" * (MAX_PEM_BYTES - len(text("rsa-leaf.pem")))
    assert len(padded.encode()) == MAX_PEM_BYTES
    assert parse_certificate(padded) == certificate("rsa-leaf.pem")


# --- certificate field --------------------------------------------------------------------


def test_several_certificates_where_one_is_expected() -> None:
    error = assert_refused(errors.MultipleCertificates, "certificate", "holds 3 certificates", parse_certificate, text("rsa-fullchain.pem"))
    assert "intermediate" in error.message


def test_key_in_certificate_field_is_not_a_certificate() -> None:
    error = assert_refused(errors.NotACertificate, "certificate", "'RSA PRIVATE KEY', not a CERTIFICATE", parse_certificate, text("rsa-leaf.key"))
    assert "MII" not in error.message  # never echoes key material


def test_leaf_claiming_to_be_a_ca_is_refused() -> None:
    assert_refused(errors.CertificateIsCA, "certificate", "CA:TRUE", parse_certificate, text("leaf-claims-ca.pem"))


def test_ca_certificate_as_the_certificate_is_refused() -> None:
    assert_refused(errors.CertificateIsCA, "certificate", "rsa test intermediate CA", parse_certificate, text("rsa-intermediate.pem"))


# --- intermediate bundle ------------------------------------------------------------------


def test_intermediate_that_did_not_sign_the_certificate() -> None:
    assert_refused(errors.IntermediateNotIssuer, "intermediate", "no certificate in it signed", check_import,
                   text("rsa-leaf.pem"), text("ec-chain.pem"))


def test_bundle_with_a_stranger_does_not_chain() -> None:
    assert_refused(errors.ChainBroken, "intermediate", "'CN=ec test root CA,O=certkeeper test corpus' is not part", check_import,
                   text("rsa-leaf.pem"), text("broken-bundle.pem"))


def test_bundle_repeating_a_certificate_does_not_chain() -> None:
    twice = text("rsa-intermediate.pem") * 2
    assert_refused(errors.ChainBroken, "intermediate", "is not part", check_import, text("rsa-leaf.pem"), twice)


def test_bundle_with_a_key_is_not_a_certificate() -> None:
    assert_refused(errors.NotACertificate, "intermediate", "send keys in 'private_key'", parse_bundle,
                   text("rsa-intermediate.pem") + text("rsa-intermediate.key"))


def test_order_chain_needs_the_leafs_issuer() -> None:
    with pytest.raises(errors.IntermediateNotIssuer):
        order_chain(certificate("self-signed.pem"), [certificate("rsa-root.pem")])


# --- private key --------------------------------------------------------------------------


def test_key_of_another_certificate_does_not_match() -> None:
    assert_refused(errors.PrivateKeyMismatch, "private_key", "does not match the certificate", check_import,
                   text("rsa-leaf.pem"), None, text("other-rsa.key"))


def test_key_of_another_family_does_not_match() -> None:
    assert_refused(errors.PrivateKeyMismatch, "private_key", "does not match", check_import,
                   text("rsa-leaf.pem"), None, text("ec-leaf.key"))


def test_pkcs8_encrypted_key_is_refused() -> None:
    assert_refused(errors.PrivateKeyEncrypted, "private_key", "is encrypted", parse_private_key, text("rsa-leaf-encrypted.key"))


def test_legacy_encrypted_key_is_refused() -> None:
    assert_refused(errors.PrivateKeyEncrypted, "private_key", "is encrypted", parse_private_key, text("rsa-leaf-legacy-encrypted.key"))


def test_certificate_in_key_field_is_not_a_key() -> None:
    assert_refused(errors.NotAPrivateKey, "private_key", "'CERTIFICATE', not a private key", parse_private_key, text("rsa-leaf.pem"))


def test_two_keys_are_refused() -> None:
    assert_refused(errors.MultiplePrivateKeys, "private_key", "holds 2 private keys", parse_private_key,
                   text("rsa-leaf.key") + text("other-rsa.key"))


def test_dsa_key_is_unsupported() -> None:
    assert_refused(errors.UnsupportedKey, "private_key", "not supported", parse_private_key, text("dsa.key"))


def test_garbage_inside_a_key_block_is_invalid() -> None:
    broken = "-----BEGIN PRIVATE KEY-----\nMAMCAQU=\n-----END PRIVATE KEY-----\n"
    assert_refused(errors.InvalidPrivateKey, "private_key", "not a valid private key", parse_private_key, broken)


def test_ec_parameters_block_before_the_key_is_ignored() -> None:
    params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
    key, pem = parse_private_key(params + text("ec-leaf.key"))
    assert pem == text("ec-leaf.key")
    assert key.public_key() == x509.load_pem_x509_certificate(data("ec-leaf.pem")).public_key()


def test_every_error_has_a_distinct_stable_code() -> None:
    def leaves(cls: type) -> set[type]:
        return {cls} | {c for sub in cls.__subclasses__() for c in leaves(sub)}

    codes = [c.code for c in leaves(errors.PkiError)]
    assert len(codes) == len(set(codes))
