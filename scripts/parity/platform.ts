// The part of Google's platform between a caller and a deployed function, for the cloud-parity
// run: a function answers at its run.app URL (and at cloudfunctions.net/<name>), and Cloud Run
// lets a request in only with a Google ID token whose audience is the service's URL and whose
// account may invoke it (docs/cloud.md §5), or with none when allUsers may. Also the local stand-in
// for Google's token issuer, which signs the ID tokens API Gateway, Cloud Tasks and Cloud
// Scheduler present.
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, createLocalJWKSet, type JWTPayload } from 'jose';

export const GOOGLE_ISSUER = 'https://accounts.google.com';

/** Signs and verifies Google-style ID tokens (RS256) for the parity run's service accounts. */
export interface GoogleIdentity {
  mintIdToken(serviceAccountEmail: string, audience: string): Promise<string>;
  verify(token: string): Promise<JWTPayload & { email?: string }>;
}

export async function createGoogleIdentity(): Promise<GoogleIdentity> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'parity', alg: 'RS256' }] });
  return {
    mintIdToken: (email, audience) =>
      new SignJWT({ email, email_verified: true })
        .setProtectedHeader({ alg: 'RS256', kid: 'parity', typ: 'JWT' })
        .setIssuer(GOOGLE_ISSUER)
        .setSubject(email)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey),
    verify: async (token) => (await jwtVerify(token, keys, { issuer: GOOGLE_ISSUER })).payload,
  };
}

export interface DeployedFunction {
  /** The function target, e.g. `order-worker`. */
  target: string;
  /** Its service name, e.g. `flash-sale-parity-order-worker`. */
  service: string;
  /** Its run.app URL as Terraform computes it: the only audience Cloud Run accepts here. */
  url: string;
  /** Where it listens on this machine. */
  localUrl: string;
  /** Who may invoke it: `allUsers`, or the service accounts' emails. */
  invokers: 'allUsers' | readonly string[];
  /** `ALLOW_ALL` or `ALLOW_INTERNAL_ONLY`; internal callers are the platform's own (tasks, scheduler). */
  ingress: 'ALLOW_ALL' | 'ALLOW_INTERNAL_ONLY';
}

export type Admission =
  | { ok: true; fn: DeployedFunction; target: URL }
  | { ok: false; status: 401 | 403 | 404; reason: string };

export interface Platform {
  readonly functions: readonly DeployedFunction[];
  /**
   * Whether a request to `url` reaches a function, as Cloud Run decides it: the function the
   * URL names (run.app host, or `<region>-<project>.cloudfunctions.net/<service>`), then the
   * caller's ingress, then the ID token in `authorization`. On success, the local URL to send it to.
   */
  admit(url: string, authorization: string | undefined, caller: { internal: boolean }): Promise<Admission>;
}

export function createPlatform(functions: readonly DeployedFunction[], identity: GoogleIdentity, functionsHost: string): Platform {
  const byHost = new Map(functions.map((f) => [new URL(f.url).host, f]));
  const byService = new Map(functions.map((f) => [f.service, f]));

  const locate = (url: URL): { fn: DeployedFunction; path: string } | undefined => {
    const fn = byHost.get(url.host);
    if (fn) return { fn, path: url.pathname };
    if (url.host !== functionsHost) return undefined;
    const [, service = '', ...rest] = url.pathname.split('/');
    const named = byService.get(service);
    return named && { fn: named, path: `/${rest.join('/')}` };
  };

  return {
    functions,
    async admit(rawUrl, authorization, caller) {
      const url = new URL(rawUrl);
      const found = locate(url);
      if (!found) return { ok: false, status: 404, reason: `no function at ${url.origin}${url.pathname}` };
      const { fn, path } = found;
      if (fn.ingress === 'ALLOW_INTERNAL_ONLY' && !caller.internal) return { ok: false, status: 404, reason: `${fn.service} accepts internal traffic only` };
      const target = new URL(path + url.search, fn.localUrl);
      if (fn.invokers === 'allUsers') return { ok: true, fn, target };
      const token = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
      if (!token) return { ok: false, status: 403, reason: `${fn.service}: no credentials` };
      let claims: Awaited<ReturnType<GoogleIdentity['verify']>>;
      try {
        claims = await identity.verify(token);
      } catch (err) {
        return { ok: false, status: 401, reason: `${fn.service}: bad ID token (${(err as Error).message})` };
      }
      const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!audiences.includes(fn.url)) return { ok: false, status: 401, reason: `${fn.service}: audience ${String(claims.aud)} is not ${fn.url}` };
      if (!claims.email || !fn.invokers.includes(claims.email)) return { ok: false, status: 403, reason: `${fn.service}: ${String(claims.email)} may not invoke it` };
      return { ok: true, fn, target };
    },
  };
}
