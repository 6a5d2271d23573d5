// Token signing lives in lib/tokens.ts (scripts and tests sign with it too); this name stays
// only until users/index.ts, changed in parallel under issue 14, imports from lib directly.
export { signAccessToken, type TokenSettings } from '../lib/tokens.js';
