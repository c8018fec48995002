"""Run in a new process by test_acme_client: resume an ACME order from its JSON and complete it.

Reads one JSON object on stdin (connection, account and order JSON, keys, CIS settings) and
prints {"status_at_resume", "fullchain"} on stdout.
"""

from __future__ import annotations

import json
import sys

from ibm_cloud_sdk_core.authenticators import BearerTokenAuthenticator

from acme_client.accounts import AcmeAccount, use_account
from acme_client.connection import AcmeConnection
from acme_client.issuance import complete_order
from acme_client.orders import resume_order
from acme_client.polling import Poller
from dns_providers.cis import CisProvider
from dns_providers.propagation import PropagationChecker


def main() -> None:
    job = json.load(sys.stdin)
    checker = PropagationChecker([job["resolver"]], timeout=10, interval=0.05)
    provider = CisProvider(job["cis_crn"], BearerTokenAuthenticator(job["cis_token"]), service_url=job["cis_url"],
                           checker=checker)
    with AcmeConnection(job["directory_url"], job["account_key"], ca_bundle=job["ca_bundle"]) as conn:
        use_account(conn, AcmeAccount.from_json(job["account"]))
        order = resume_order(conn, job["order"], job["order_key"])
        issued = complete_order(conn, order, provider, poller=Poller(timeout=30))
    json.dump({"status_at_resume": order.status, "fullchain": issued.fullchain}, sys.stdout)


if __name__ == "__main__":
    main()
