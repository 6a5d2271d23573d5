// An order as PostgreSQL keeps it: its statuses, its row, and the columns every reader selects.

export const ORDER_STATUSES = ['pending', 'reserved', 'confirmed', 'failed', 'expired', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** What PostgreSQL decides an order is; `pending` lives only in Redis until then. */
export type SettledStatus = Exclude<OrderStatus, 'pending'>;

export interface OrderRow {
  order_id: string;
  user_id: string;
  product_id: string;
  sale_id: string;
  status: OrderStatus;
  failure_reason: string | null;
  created_at: Date;
  expires_at: Date | null;
}

/** An order as the API answers it: its row, with the times as ISO strings. */
export type Order = Omit<OrderRow, 'created_at' | 'expires_at'> & { created_at: string; expires_at: string | null };

export const ORDER_COLUMNS = 'order_id, user_id, product_id, sale_id, status, failure_reason, created_at, expires_at';
