"""HTTP API, CLI, settings and composition: the adapters around the domain and projections."""
