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
  /** The sale's waiting room (docs/api.md, Waiting room); `mode: off` when it has none. */
  waiting_room: WaitingRoom;
  server_time: string;
}

export interface WaitingRoom {
  mode: 'off' | 'always' | 'above';
  admit_per_second: number;
  admission_seconds: number;
  /** Only with `mode: above`. */
  above_attempts_per_second?: number;
  /** Leading zero bits the join's proof of work needs (docs/api.md); 0: none. */
  proof_of_work_bits: number;
  /** People in the queue who were not admitted yet (before the opening: the pre-queue). */
  length: number;
  /** Places admitted so far. */
  admitted: number;
  /** Hex SHA-256 of the pre-queue's shuffle seed; null when the sale has no room. */
  seed_hash: string | null;
}

/** POST /sales/{sale_id}/queue and GET /sales/{sale_id}/queue/me. */
export interface QueueTicket {
  ticket_id: string;
  sale_id: string;
  state: 'waiting' | 'admitted' | 'sold_out' | 'ended';
  /** Null before the opening (the pre-queue is drawn then). */
  place: number | null;
  ahead: number | null;
  estimated_wait_seconds: number | null;
  admitted_until: string | null;
  order: Order | null;
}

/** GET /sales/{sale_id}/queue/log, after the end. */
export interface QueueLog {
  seed: string;
  seed_hash: string;
  entries: QueueLogEntry[];
}

export interface QueueLogEntry {
  place: number;
  ticket_hash: string;
  admitted: boolean;
  /** Joined before the opening: its place was drawn from the seed. */
  pre_queue: boolean;
  admitted_at: string | null;
  /** When the admission was used by an order (the take), if it was. */
  served_at: string | null;
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
