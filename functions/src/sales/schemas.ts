// The sales function's request shapes, apart from its handlers so that tests and the gateway
// can read them without loading a handler.
import { z } from 'zod';

const timestamp = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const stock = z.number().int().min(0).max(10_000_000);

export const productSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  price_in_cent: z.number().int().min(0).max(1_000_000_000),
});

export const windowRule = { message: 'starts_at must be before ends_at', path: ['ends_at'] };

export const createSaleSchema = z
  .strictObject({
    product_id: z.uuid(),
    starts_at: timestamp,
    ends_at: timestamp,
    stock,
    hold_seconds: z.number().int().min(0).max(24 * 3600).default(0),
  })
  // Only when both times parsed: a bad starts_at is reported once, on its own field.
  .refine((s) => !(s.starts_at instanceof Date && s.ends_at instanceof Date) || s.starts_at < s.ends_at, windowRule);

export const updateSaleSchema = z.strictObject({
  sale_id: z.uuid(),
  starts_at: timestamp.optional(),
  ends_at: timestamp.optional(),
  stock: stock.optional(),
});
