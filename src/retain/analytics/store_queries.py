"""What analytics reads from a store, in SQL both SQLite and PostgreSQL understand.

Kept apart from the readers so the child process that reads SQLite imports nothing else.
"""

# Which customer bought which product when: what recommendations learn from.
PURCHASES = (
    "SELECT o.customer_id, o.placed_at, l.product_id FROM order_lines l JOIN orders o ON o.id = l.order_id"
    " WHERE o.cancelled_at IS NULL AND l.product_id IS NOT NULL"
)
QUERIES = {
    "orders": "SELECT customer_id, placed_at, total - refunded AS net, currency FROM orders"
    " WHERE cancelled_at IS NULL",
    "scores": "SELECT customer_id, p_alive, churn_probability, predicted_orders, predicted_clv"
    " FROM customer_scores",
    "purchases": PURCHASES,
}
