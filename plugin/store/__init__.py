"""The store: schema, engines and transactions, migrations, prepared statements, idempotent deliveries."""
