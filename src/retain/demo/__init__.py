"""Demo data: a deterministic synthetic store for ``retain demo`` and the import benchmark."""
