"""ACME (RFC 8555) orders on certbot's `acme` library and `josepy`."""
