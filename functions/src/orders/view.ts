// An order as the API answers it, from PostgreSQL's row or from the pending record in Redis.
import type { Order, OrderRow } from '../lib/order-row.js';
import type { LiveSale } from '../lib/sale-store.js';

export function orderFromRow(row: OrderRow): Order {
  return {
    ...row,
    created_at: row.created_at.toISOString(),
    expires_at: row.expires_at ? row.expires_at.toISOString() : null,
  };
}

/** An order Redis handed a unit to at `takenMs` that PostgreSQL does not have yet. */
export function pendingOrder(orderId: string, userId: string, sale: LiveSale, takenMs: number): Order {
  return {
    order_id: orderId,
    user_id: userId,
    product_id: sale.product.product_id,
    sale_id: sale.sale_id,
    status: 'pending',
    failure_reason: null,
    created_at: new Date(takenMs).toISOString(),
    expires_at: null,
  };
}
