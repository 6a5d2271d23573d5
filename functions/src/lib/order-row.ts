// An order as PostgreSQL keeps it: its row, and the columns every reader selects. Its statuses
// and its answer are the API's (@flash-sale/contract, shared with the web client).
import type { Order, OrderStatus } from '@flash-sale/contract';

export type { Order, OrderStatus };

/** Every status of the contract, for the schemas that check a stored one. */
export const ORDER_STATUSES = ['pending', 'reserved', 'confirmed', 'failed', 'expired', 'cancelled'] as const satisfies readonly OrderStatus[];

/** What PostgreSQL decides an order is; `pending` lives only in Redis until then. */
export type SettledStatus = Exclude<OrderStatus, 'pending'>;

/** An order's row: its answer, with the times as PostgreSQL's driver gives them. */
export type OrderRow = Omit<Order, 'created_at' | 'expires_at'> & { created_at: Date; expires_at: Date | null };

export const ORDER_COLUMNS = 'order_id, user_id, product_id, sale_id, status, failure_reason, created_at, expires_at';
