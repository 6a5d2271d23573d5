// Password hashing lives in lib/passwords.ts (seed-users hashes with it too); this name stays
// only until users/index.ts, changed in parallel under issue 14, imports from lib directly.
export { decoyHash, hashPassword, verifyPassword } from '../lib/passwords.js';
