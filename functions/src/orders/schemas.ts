// The orders function's request shapes, apart from its handlers so that tests and the gateway
// can read them without loading a handler.
import { z } from 'zod';
import { ApiError } from '../lib/errors.js';
import { pageQueryShape } from '../lib/pages.js';

/** POST /orders. */
export const orderSchema = z.strictObject({ product_id: z.uuid() });
export type OrderRequest = z.infer<typeof orderSchema>;

/** GET /orders's query: a product, and the page (docs/api.md, Pagination). */
export const listQuerySchema = z.strictObject({ product_id: z.uuid().optional(), ...pageQueryShape });

/** POST /orders/{order_id}/checkout. */
export const checkoutSchema = z.strictObject({ payment_token: z.string().min(1).max(500).optional() });

/** The `{order_id}` of a path: anything but a UUID names no order. */
export function orderIdParam(raw: string | undefined): string {
  if (!raw || !z.uuid().safeParse(raw).success) throw new ApiError('not_found', 'No such order.');
  return raw;
}
