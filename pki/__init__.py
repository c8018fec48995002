"""X.509 work with no I/O: keys, CSRs, CAs, templates, issuance, CRLs, parsing."""
