"""`retain demo --no-serve`: the whole first-run job, end to end, on a small store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from retain.bootstrap import bootstrap
from retain.cli import app
from retain.store.tables import customers, loyalty_accounts, orders, products


def test_the_demo_generates_imports_and_summarises_a_store(cli: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    args = ["demo", "--no-serve", "--customers", "300", "--out", str(tmp_path / "store"), "--db", url]
    first = cli.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "Store summary" in first.output
    application = bootstrap(url)
    with application.engine.connect() as connection:
        people, birthdays, consenting = connection.execute(
            select(
                func.count(),
                func.count(customers.c.birthday),
                func.count().filter(customers.c.marketing_consent.is_(True)),
            )
        ).one()
        order_count = connection.scalar(select(func.count()).select_from(orders))
        latest = connection.scalar(select(func.max(orders.c.placed_at)))
        kept = connection.scalar(select(func.count()).where(orders.c.cancelled_at.is_(None)))
        categorised = connection.scalar(select(func.count(products.c.category)))
        members = connection.scalar(select(func.count()).select_from(loyalty_accounts))
        outstanding = connection.scalar(select(func.sum(loyalty_accounts.c.balance)))
    application.close()
    assert people == 300
    assert 0 < birthdays < people  # birthdays for some
    assert people * 0.5 < consenting < people  # consent for most, not all
    assert order_count > people  # repeat buyers exist
    assert categorised > 100
    assert latest < datetime.now(UTC)  # the history ends in the past, close to now
    assert latest > datetime.now(UTC) - timedelta(days=30)
    # The summary counts the orders that were not cancelled.
    assert f"│ Orders                   │ {kept:>24,} │" in first.output
    # The flows' days kept the loyalty program current, and the demo says where it stands.
    assert 0 < members <= people
    said = " ".join(first.output.split())
    assert f"Loyalty: {members:,} members" in said
    assert f"{outstanding:,} points outstanding" in said
    again = cli.invoke(app, args)
    assert again.exit_code == 0, again.output
    application = bootstrap(url)
    with application.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(orders)) == order_count
    application.close()
