"""Adapters: one per port, the only modules that import Google, SMTP and HTTP client libraries."""
