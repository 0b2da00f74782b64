"""The safeguarding ledger's independent verifier: RFC 6962 Merkle trees and proofs, C2SP
signed checkpoints, the leaf and export bundle formats, and the `ledger-verify` command.

Imports only the standard library and `cryptography`, so that a scrutineer can install it alone
(`pip install ./ledger_verifier`) and check an export without the service.
"""
