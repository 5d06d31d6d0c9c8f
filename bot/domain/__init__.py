"""The domain model. Pure Python: no I/O library is imported here (style.md, rule 2)."""
