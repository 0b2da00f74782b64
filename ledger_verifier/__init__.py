"""Integrity primitives: RFC 6962 Merkle trees, proofs and C2SP signed checkpoints."""
