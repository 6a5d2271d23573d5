-- Up Migration
-- Checkout of a held order records what the buyer paid with and the provider's reference.
ALTER TABLE orders
  ADD COLUMN payment_token text,
  ADD COLUMN payment_reference text,
  ADD COLUMN paid_at timestamptz;
-- The sweeper looks for holds whose expiry task was lost.
CREATE INDEX orders_reserved_by_expiry ON orders (expires_at) WHERE status = 'reserved';

-- Down Migration
DROP INDEX orders_reserved_by_expiry;
ALTER TABLE orders DROP COLUMN payment_token, DROP COLUMN payment_reference, DROP COLUMN paid_at;
