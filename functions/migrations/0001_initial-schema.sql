-- Up Migration
-- Users, products, flash sales and orders, with the constraints of docs/design.md §3 that
-- make PostgreSQL the final word on "no oversell" and "one per user".

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE users (
  user_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  password_hash text NOT NULL,
  role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE products (
  product_id    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  price_in_cent bigint NOT NULL CHECK (price_in_cent >= 0),
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE flash_sales (
  sale_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  product_id   uuid NOT NULL REFERENCES products (product_id),
  starts_at    timestamptz NOT NULL,
  ends_at      timestamptz NOT NULL,
  stock        integer NOT NULL,
  sold         integer NOT NULL DEFAULT 0,
  hold_seconds integer NOT NULL DEFAULT 0 CHECK (hold_seconds >= 0),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT flash_sales_sold_within_stock CHECK (0 <= sold AND sold <= stock),
  CONSTRAINT flash_sales_window CHECK (starts_at < ends_at),
  CONSTRAINT flash_sales_no_overlap EXCLUDE USING gist (
    product_id WITH =,
    tstzrange(starts_at, ends_at, '[)') WITH &&
  )
);

CREATE TABLE orders (
  order_id       uuid PRIMARY KEY,
  user_id        uuid NOT NULL REFERENCES users (user_id),
  product_id     uuid NOT NULL REFERENCES products (product_id),
  sale_id        uuid NOT NULL REFERENCES flash_sales (sale_id),
  status         text NOT NULL
                 CHECK (status IN ('pending', 'reserved', 'confirmed', 'failed', 'expired', 'cancelled')),
  failure_reason text,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz,
  CONSTRAINT orders_failure_has_reason CHECK ((status = 'failed') = (failure_reason IS NOT NULL))
);
-- One live order per user and product (docs/design.md §5 invariant 2).
CREATE UNIQUE INDEX orders_one_live_per_user_product
  ON orders (user_id, product_id) WHERE status IN ('pending', 'reserved', 'confirmed');
CREATE INDEX orders_by_user ON orders (user_id, created_at DESC);
CREATE INDEX orders_by_sale_status ON orders (sale_id, status);

-- Down Migration
DROP TABLE orders;
DROP TABLE flash_sales;
DROP TABLE products;
DROP TABLE users;
