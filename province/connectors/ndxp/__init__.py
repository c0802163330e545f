"""The national data-exchange platform stub (NDXP)."""
