"""Mail adapter: MIME messages, delivery over SMTP, and a file outbox for stores without SMTP."""
