"""The Ledger's use cases, one mixin per aggregate: load, call the aggregate, save, return."""
