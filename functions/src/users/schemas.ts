// The users function's request shapes, apart from its handlers so that tests and the gateway
// can read them without loading a handler.
import { z } from 'zod';

/** RFC 5321 caps a forward path at 256 octets, so an address (without its brackets) at 254. */
const email = z.email().max(254);

export const signupSchema = z.strictObject({
  email,
  password: z.string().min(8).max(128),
});

export const loginSchema = z.strictObject({
  email,
  password: z.string().min(1).max(128),
});
