"""Response and request models (module level, so FastAPI reads them as bodies)."""
