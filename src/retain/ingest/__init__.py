"""Order-history file formats: read, validate, and hand over as an ``OrderBatch``."""
