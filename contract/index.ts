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

/** GET /admin/metrics: the numbers an operator watches during a sale (docs/api.md, Operators). */
export interface Metrics {
  /** POST /orders answers by outcome: accepted, sold_out, already_purchased, rate_limited, … */
  attempts: Record<string, number>;
  /** Orders the worker finished, by status. */
  finals: Record<string, number>;
  /** 202→final latency: how many fell in each bucket, and the bucket bounds that hold the 50th and 99th percentiles. */
  final_latency_ms: { count: number; p50_at_most: number | null; p99_at_most: number | null; buckets: Record<string, number> };
  /** Deliveries of a task that were not its first. */
  tasks_retried: number;
  /** Orders that ended failed, by failure_reason (counted by the worker and the sweeper). */
  failed_by_reason: Record<string, number>;
  /** Pending orders older than PENDING_REDRIVE_AFTER_MS at the sweeper's last pass, and when that was. */
  pending_stale: number;
  pending_stale_at: string | null;
  /** Pending orders the sweeper queued again, and gave up on. */
  redriven: number;
  gave_up: number;
  /** Sales whose Redis counts the sweeper found drifted and repaired. */
  drift_repaired: number;
  /** Requests and 5xx answers by function. */
  requests: Record<string, number>;
  errors_5xx: Record<string, number>;
}
