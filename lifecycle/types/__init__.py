"""One handler per secret type; `handler_for` is the registry."""

from __future__ import annotations

from lifecycle.errors import InvalidInput
from lifecycle.types.base import TypeHandler
from lifecycle.types.generic import Arbitrary, KeyValue, UsernamePassword
from lifecycle.types.imported_cert import ImportedCert
from lifecycle.types.private_cert import PrivateCert
from lifecycle.types.public_cert import PublicCert

HANDLERS: dict[str, TypeHandler] = {
    h.secret_type.value: h
    for h in (Arbitrary(), KeyValue(), UsernamePassword(), ImportedCert(), PrivateCert(), PublicCert())
}


def handler_for(secret_type: str) -> TypeHandler:
    """Raises InvalidInput naming the supported types when ``secret_type`` is unknown."""
    try:
        return HANDLERS[secret_type]
    except KeyError:
        raise InvalidInput(
            f"secret_type: '{secret_type}' is not supported; use one of {', '.join(sorted(HANDLERS))}",
            field="secret_type",
        ) from None
