"""The safeguarding accountability ledger's domain: aggregates, rules and the Ledger application.

Imports only the standard library and eventsourcing (an import-linter contract keeps it so).
Module and class paths here are a persistence contract: stored events record their topics.
"""
