// The API's answers that the functions and the web client both read (docs/api.md): types only,
// erased at build, so neither the functions' archive nor the client's bundle carries this package.

export type OrderStatus = 'pending' | 'reserved' | 'confirmed' | 'failed' | 'expired' | 'cancelled';

/** An order as the API answers it (GET /orders/{id}, POST /orders and the hold's calls). */
export interface Order {
  order_id: string;
  user_id: string;
  product_id: string;
  sale_id: string;
  status: OrderStatus;
  failure_reason: string | null;
  created_at: string;
  expires_at: string | null;
}

export type SaleState = 'upcoming' | 'active' | 'ended';

/** A sale as GET /sales and GET /sales/{sale_id} answer it. */
export interface Sale {
  sale_id: string;
  product: { product_id: string; name: string; price_in_cent: number };
  starts_at: string;
  ends_at: string;
  state: SaleState;
  stock_total: number;
  stock_remaining: number;
  /** Units taken but not confirmed: pending in the queue or reserved and not yet paid. */
  stock_held: number;
  hold_seconds: number;
  server_time: string;
}
