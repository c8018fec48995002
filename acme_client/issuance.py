"""One order from challenges to certificate with a DNS-01 provider: present, check, answer, poll,
finalize, and always clean up the TXT records the order used.

Works for a new order and for one resumed from JSON (states already past are skipped), and
for manual DNS (the provider publishes nothing and checks nothing; call it once the user
says the records are in place). Every failure leaves as an AcmeOrderError.
"""

from __future__ import annotations

import logging

from acme_client.chains import IssuedCertificate
from acme_client.connection import AcmeConnection
from acme_client.errors import AcmeOrderError
from acme_client.orders import Order, answer, finalize, refresh, wait_for_authorizations
from acme_client.polling import Poller
from dns_providers.base import DnsProvider
from dns_providers.errors import DnsProviderError

logger = logging.getLogger(__name__)


def present_challenges(order: Order, provider: DnsProvider) -> None:
    """Publish the TXT value of every pending authorization, then (if the provider can) wait until visible.

    Raises AcmeOrderError with the provider's code ('dns_propagation_timeout', 'dns_zone_not_found', ...).
    """
    pending = [c for c in order.challenges if c.status == "pending"]
    try:
        for c in pending:
            provider.present(c.txt_record_name, c.txt_record_value)
        if provider.self_check:
            for c in pending:
                provider.check(c.txt_record_name, c.txt_record_value)
    except DnsProviderError as exc:
        raise AcmeOrderError(exc.code, exc.message) from exc


def cleanup_challenges(order: Order, provider: DnsProvider) -> list[DnsProviderError]:
    """Remove every TXT value of the order (idempotent); tries all and returns the failures, never raises them."""
    failures: list[DnsProviderError] = []
    for c in order.challenges:
        try:
            provider.cleanup(c.txt_record_name, c.txt_record_value)
        except DnsProviderError as exc:
            logger.warning("cleanup of TXT %s failed: %s", c.txt_record_name, exc.message)
            failures.append(exc)
    return failures


def complete_order(conn: AcmeConnection, order: Order, provider: DnsProvider, *, poller: Poller | None = None,
                   preferred_chain: str | None = None) -> IssuedCertificate:
    """Drive order to a certificate; the TXT records are cleaned up whatever happens.

    Raises AcmeOrderError: the CA's problem per identifier ('unauthorized' for a wrong TXT value),
    the DNS provider's code, 'timeout', 'connection_error'.
    """
    poller = poller or Poller()
    try:
        order = refresh(conn, order)
        if order.status == "invalid":
            return finalize(conn, order, poller, preferred_chain)  # raises the order's error
        if order.status == "pending":
            present_challenges(order, provider)
            order = wait_for_authorizations(conn, answer(conn, order), poller)
        return finalize(conn, order, poller, preferred_chain)
    finally:
        cleanup_challenges(order, provider)
