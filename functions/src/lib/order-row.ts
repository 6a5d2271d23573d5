// An order as PostgreSQL keeps it: its statuses, its row, and the columns every reader selects.

export type OrderStatus = 'pending' | 'reserved' | 'confirmed' | 'failed' | 'expired' | 'cancelled';

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

export const ORDER_COLUMNS = 'order_id, user_id, product_id, sale_id, status, failure_reason, created_at, expires_at';
