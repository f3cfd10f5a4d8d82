"""SQLAlchemy adapter: tables, migrations, unit of work and bulk writers."""
