"""The read side: set-based queries on DuckDB over the store's orders, never Python loops.

Queries are written once in DuckDB's SQL; ``retain.analytics.engine.to_dialect`` turns
them into another engine's SQL (Spark's, say) with sqlglot, so there is one definition.
"""
