"""The errors DNS-01 providers raise: one root with a stable ``code`` per leaf.

`dns_providers` never imports `lifecycle`, so this hierarchy has its own root; the core maps
a `DnsProviderError` to `issuance_info.error_code` / `error_message`. Messages name the record
or zone and never contain credentials (API keys, tokens).
"""

from __future__ import annotations


class DnsProviderError(Exception):
    """Root of the errors `dns_providers` raises on purpose; ``code`` is stable."""

    code = "dns_provider_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DnsConfigurationError(DnsProviderError):
    """A provider setting is unusable (bad resolver address, empty CRN...)."""

    code = "dns_configuration_invalid"


class ZoneNotFound(DnsProviderError):
    """No zone of the provider's account contains the record name."""

    code = "dns_zone_not_found"

    def __init__(self, message: str, *, name: str) -> None:
        super().__init__(message)
        self.name = name


class DnsAuthenticationError(DnsProviderError):
    """The provider refused the credentials (HTTP 401/403, IAM token exchange failed)."""

    code = "dns_provider_auth_failed"


class DnsApiError(DnsProviderError):
    """The provider's API answered with another error, or could not be reached."""

    code = "dns_provider_api_error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PropagationTimeout(DnsProviderError):
    """The TXT value was not visible at every nameserver asked within the timeout."""

    code = "dns_propagation_timeout"

    def __init__(self, message: str, *, name: str, missing_at: tuple[str, ...]) -> None:
        super().__init__(message)
        self.name = name
        self.missing_at = missing_at
