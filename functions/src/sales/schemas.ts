// The sales function's request shapes, apart from its handlers so that tests and the gateway
// can read them without loading a handler.
import { z } from 'zod';

const timestamp = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const stock = z.number().int().min(0).max(10_000_000);

export const productSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  price_in_cent: z.number().int().min(0).max(1_000_000_000),
});

/**
 * A sale's waiting room (docs/api.md, Waiting room): `off`, `always` on, or on `above` a rate of
 * attempts per second; buyers admitted per second, and how long an admission lasts.
 */
export const waitingRoomSchema = z
  .strictObject({
    mode: z.enum(['off', 'always', 'above']),
    admit_per_second: z.number().min(0.01).max(100_000).default(10),
    admission_seconds: z.number().int().min(5).max(24 * 3600).default(120),
    above_attempts_per_second: z.number().min(1).max(10_000_000).optional(),
    proof_of_work_bits: z.number().int().min(0).max(32).default(0),
  })
  .refine((r) => r.mode !== 'above' || r.above_attempts_per_second !== undefined, {
    message: 'above_attempts_per_second is required when mode is above',
    path: ['above_attempts_per_second'],
  });
/** POST /sales/{sale_id}/queue: the proof of work's nonce when the room asks for one. */
export const joinSchema = z.strictObject({ proof_of_work: z.string().min(1).max(100).optional() });

export type WaitingRoomInput = z.infer<typeof waitingRoomSchema>;

export const windowRule = { message: 'starts_at must be before ends_at', path: ['ends_at'] };

export const createSaleSchema = z
  .strictObject({
    product_id: z.uuid(),
    starts_at: timestamp,
    ends_at: timestamp,
    stock,
    hold_seconds: z.number().int().min(0).max(24 * 3600).default(0),
    waiting_room: waitingRoomSchema.optional(),
  })
  // Only when both times parsed: a bad starts_at is reported once, on its own field.
  .refine((s) => !(s.starts_at instanceof Date && s.ends_at instanceof Date) || s.starts_at < s.ends_at, windowRule);

export const updateSaleSchema = z.strictObject({
  sale_id: z.uuid(),
  starts_at: timestamp.optional(),
  ends_at: timestamp.optional(),
  stock: stock.optional(),
  waiting_room: waitingRoomSchema.optional(),
});
