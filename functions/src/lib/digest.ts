// Hex digests of texts: the waiting room's seed commitment and ticket hashes (SHA-256), and the
// pre-queue's draw order, which Redis's Lua computes with the only hash it has (SHA-1).
import { createHash } from 'node:crypto';

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

export const sha1Hex = (text: string): string => createHash('sha1').update(text).digest('hex');
