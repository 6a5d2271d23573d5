// The local stand-in for Google API Gateway: routes each operation of openapi.yaml to its
// function (x-google-backend), checks JWTs as the gateway does (issuer, JWKS, audience),
// passes the verified claims in X-Apigateway-Api-Userinfo, sends OPTIONS of any known path to
// its backend unchecked (allowCors), and appends the caller's address to X-Forwarded-For.
// Backends are reached straight at their addresses (the local stack), or through a
// `BackendRoute` that plays Google's part (the cloud-parity run: ID tokens, run.app URLs).
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createRemoteJWKSet, customFetch } from 'jose';
import { OpenAPIRouter, type Operation, type Request } from 'openapi-backend';
import type { OpenAPIV3 } from 'openapi-types';
import { parse as parseYaml } from 'yaml';
import { bearerToken, createTokenVerifier, GATEWAY_USERINFO_HEADER, type TokenVerifier, type VerifiedToken } from '../functions/src/lib/auth.ts';
import { ApiError } from '../functions/src/lib/errors.ts';
import { readBodyThen, requestIdOf, sendError, toApiError, type FunctionRequest } from '../functions/src/lib/http.ts';

const require = createRequire(import.meta.url);
const swagger2openapi = require('swagger2openapi') as {
  convertObj(spec: unknown, options: Record<string, unknown>): Promise<{ openapi: OpenAPIV3.Document }>;
};

export interface GatewayOptions {
  openapiFile: string;
  /** The values of the ${...} placeholders of openapi.yaml, e.g. orders_url. */
  variables: Record<string, string>;
  /** How backend addresses are reached; default: straight at the address. */
  backends?: BackendRoute;
}

export type RouteAnswer = { ok: true; target: URL; authorization?: string } | { ok: false; status: number; reason: string };

/**
 * Where a request to a backend URL goes. API Gateway calls a backend with an ID token of its
 * service account whose audience is the backend's `jwt_audience` (default: the address, path
 * included), and fetches the JWKS anonymously (docs/cloud.md §1, §2).
 */
export interface BackendRoute {
  route(url: string, caller: { audience: string } | 'anonymous'): Promise<RouteAnswer>;
}

const DIRECT: BackendRoute = { route: (url) => Promise.resolve({ ok: true, target: new URL(url) }) };

/**
 * The URL API Gateway sends a request to (docs/cloud.md §1): APPEND_PATH_TO_ADDRESS puts the
 * request's path and query after the address's path; CONSTANT_ADDRESS (the default of an
 * operation) keeps the address's path and passes the path parameters as query parameters.
 */
export function backendUrl(
  backend: { address: string; path_translation?: string },
  request: { path: string; query: string; pathParams: Record<string, string> },
): string {
  const address = new URL(backend.address);
  if (backend.path_translation === 'APPEND_PATH_TO_ADDRESS') {
    return `${address.origin}${address.pathname.replace(/\/$/, '')}${request.path}${request.query ? `?${request.query}` : ''}`;
  }
  const params = [request.query, ...Object.entries(request.pathParams).map(([k, v]) => `${k}=${v}`)].filter((p) => p.length > 0);
  return `${address.origin}${address.pathname}${params.length > 0 ? `?${params.join('&')}` : ''}`;
}

interface GoogleOperation {
  operationId: string;
  security?: Record<string, string[]>[];
  'x-google-backend'?: { address: string; path_translation?: string; jwt_audience?: string };
}

type SwaggerDoc = {
  securityDefinitions?: Record<string, Record<string, string>>;
  paths: Record<string, Record<string, GoogleOperation>>;
  'x-google-endpoints'?: { name?: string; allowCors?: boolean }[];
};

const OPERATION_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Fills ${name} placeholders, as terraform's templatefile does at deploy time. */
export function fillTemplate(text: string, variables: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const value = variables[name];
    if (value === undefined) throw new Error(`openapi.yaml uses \${${name}} but no value was given`);
    return value;
  });
}

export async function loadGatewayConfig(options: GatewayOptions) {
  const backends = options.backends ?? DIRECT;
  const swagger = parseYaml(fillTemplate(readFileSync(options.openapiFile, 'utf8'), options.variables)) as SwaggerDoc;
  const { openapi } = await swagger2openapi.convertObj(structuredClone(swagger), { patch: true, warnOnly: true });
  const operations = new Map<string, GoogleOperation>();
  for (const methods of Object.values(swagger.paths)) {
    for (const op of Object.values(methods)) operations.set(op.operationId, op);
  }
  const scheme = swagger.securityDefinitions?.jwt;
  if (!scheme?.['x-google-issuer'] || !scheme['x-google-jwks_uri'] || !scheme['x-google-audiences']) {
    throw new Error('openapi.yaml: securityDefinitions.jwt needs x-google-issuer, x-google-jwks_uri, x-google-audiences');
  }
  return {
    router: new FixedRouter({ definition: openapi }),
    operations,
    /** x-google-endpoints allowCors: every path takes OPTIONS to its backend, unauthenticated (docs/cloud.md §3). */
    allowCors: (swagger['x-google-endpoints'] ?? []).some((e) => e.allowCors === true),
    verify: rememberingVerified(createTokenVerifier({
      keys: createRemoteJWKSet(new URL(scheme['x-google-jwks_uri']), {
        // API Gateway fetches the keys with a plain GET and no credentials (docs/cloud.md §2).
        [customFetch]: async (url, init) => {
          const answer = await backends.route(url, 'anonymous');
          if (!answer.ok) return new Response(answer.reason, { status: answer.status });
          return fetch(answer.target, init);
        },
      }),
      issuer: scheme['x-google-issuer'],
      audience: scheme['x-google-audiences'],
    })),
  };
}

/** How many verified tokens the gateway keeps, and for how long at most. */
const VERIFIED_TOKENS_MAX = 10_000;
const VERIFIED_FOR_MS = 60_000;

/**
 * A token verified once is taken again without its signature checked until its exp, or a minute
 * at most, as proxies do (Envoy's jwt_authn keeps a cache of verified tokens); only successes
 * are kept. The ES256 check was a third of the gateway's CPU with buyers polling their place in
 * the waiting room, each with one token. A key taken out of the JWKS still lets a token it
 * signed through for up to that minute.
 */
export function rememberingVerified(verify: TokenVerifier): TokenVerifier {
  const verified = new Map<string, { until: number; answer: VerifiedToken }>();
  return async (token) => {
    const now = Date.now();
    const known = verified.get(token);
    if (known && now < known.until) return known.answer;
    verified.delete(token);
    const answer = await verify(token);
    if (verified.size >= VERIFIED_TOKENS_MAX) verified.delete(verified.keys().next().value as string);
    verified.set(token, { until: Math.min(Number(answer.claims.exp) * 1000, now + VERIFIED_FOR_MS), answer });
    return answer;
  };
}

/**
 * openapi-backend's router with its work done once: the library flattens the whole definition
 * with lodash and compiles a regular expression per operation on every match, which was the
 * gateway's largest cost per request (a third of its CPU under the waiting room's polling). The
 * definition never changes while the gateway runs. Matching is the library's: the exact path
 * first, then the templates by the length of their literal part, longest first.
 */
class FixedRouter extends OpenAPIRouter {
  #operations: Operation[] | undefined;
  #templates: { operation: Operation; pattern: RegExp }[] | undefined;

  override getOperations(): Operation[] {
    this.#operations ??= super.getOperations();
    return this.#operations;
  }

  override matchOperation(req: Request): Operation | undefined;
  override matchOperation(req: Request, strict: boolean): Operation;
  override matchOperation(req: Request, strict = false): Operation | undefined {
    const { method, path } = this.normalizeRequest(req);
    const relative = this.normalizePath(path);
    const operations = this.getOperations();
    this.#templates ??= operations
      .map((operation) => ({
        operation,
        literal: operation.path.replace(/\{[^}]+\}/g, '').length,
        pattern: new RegExp(`^${operation.path.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+')}$`),
      }))
      .sort((x, y) => y.literal - x.literal);
    const match =
      operations.find((o) => o.path === relative && o.method === method) ??
      this.#templates.find((t) => t.operation.method === method && t.pattern.test(relative))?.operation;
    if (!match && strict) throw new Error('404-notFound: no route matches request');
    return match;
  }
}

/** The body, read whole (so that a request can be sent twice) under the functions' own limit. */
function readBody(req: FunctionRequest): Promise<Buffer> {
  return new Promise((resolve, reject) => readBodyThen(req, reject, () => resolve(req.rawBody ?? Buffer.alloc(0))));
}

/**
 * X-Forwarded-For as Google's front ends pass it on: whatever the client sent, then the address
 * the connection came from, appended — never replaced, so the functions count hops from the right.
 */
export function forwardedFor(sent: string | string[] | undefined, socketAddress: string | undefined): string {
  const previous = (Array.isArray(sent) ? sent.join(', ') : sent)?.trim();
  const address = socketAddress ?? 'unknown';
  return previous ? `${previous}, ${address}` : address;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'content-length']);

export async function createGateway(options: GatewayOptions): Promise<http.Server> {
  const { router, operations, verify, allowCors } = await loadGatewayConfig(options);
  const backends = options.backends ?? DIRECT;
  /** The operation of a path whatever its method: where API Gateway sends the path's OPTIONS. */
  const anyOperationOf = (path: string, headers: Record<string, string>) => {
    for (const method of OPERATION_METHODS) {
      const match = router.matchOperation({ method, path, headers, query: '' });
      if (match?.operationId) return operations.get(match.operationId);
    }
    return undefined;
  };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  return http.createServer((req, res) => {
    const requestId = requestIdOf(req);
    void (async () => {
      const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
      const preflight = allowCors && req.method === 'OPTIONS';
      let operation: GoogleOperation | undefined;
      let pathParams: Record<string, string> = {};
      if (preflight) {
        operation = anyOperationOf(path, req.headers as Record<string, string>);
      } else {
        const request = { method: (req.method ?? 'GET').toLowerCase(), path, headers: req.headers as Record<string, string>, query };
        const match = router.matchOperation(request);
        operation = match?.operationId ? operations.get(match.operationId) : undefined;
        if (match) pathParams = router.parseRequest(request, match).params as Record<string, string>;
      }
      const backend = operation?.['x-google-backend'];
      if (!operation || !backend) throw new ApiError('not_found', 'No such route.');

      const headers: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (!HOP_BY_HOP.has(name) && name !== GATEWAY_USERINFO_HEADER) headers[name] = value;
      }
      headers['x-request-id'] = requestId;
      headers['x-forwarded-for'] = forwardedFor(req.headers['x-forwarded-for'], req.socket.remoteAddress);
      if (!preflight && operation.security && operation.security.length > 0) {
        const token = bearerToken(req);
        await verify(token);
        // The token's own payload, as API Gateway passes it (unpadded base64url; docs/cloud.md §2).
        headers[GATEWAY_USERINFO_HEADER] = token.split('.')[1];
        // API Gateway moves the caller's token aside and authenticates itself to the backend.
        headers['x-forwarded-authorization'] = headers.authorization;
        delete headers.authorization;
      }
      const routed = await backends.route(backendUrl(backend, { path, query, pathParams }), {
        audience: backend.jwt_audience ?? backend.address,
      });
      if (!routed.ok) {
        res.writeHead(routed.status, { 'content-type': 'text/plain', 'x-request-id': requestId });
        res.end(routed.reason);
        return;
      }
      const target = routed.target;
      if (routed.authorization) {
        if (headers.authorization !== undefined) headers['x-forwarded-authorization'] ??= headers.authorization;
        headers.authorization = routed.authorization;
      }
      const body = await readBody(req);
      // Hand-written rather than a proxy library (http-proxy-3 was weighed): the gateway sets
      // every header itself (drops the caller's userinfo, moves authorization aside, appends
      // X-Forwarded-For) and resends a read body on a reused socket's reset, which a library
      // would need hooks for at each step, for no less code.
      const forward = (retry: boolean) => {
        const upstream = http.request(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: target.pathname + target.search,
            headers: { ...headers, 'content-length': String(body.length) },
            agent,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on('error', (err: NodeJS.ErrnoException) => {
          // A kept-alive socket the backend closed just as we reused it: the request never
          // reached the backend, so sending it once more is safe (Node's documented remedy).
          if (retry && upstream.reusedSocket && err.code === 'ECONNRESET') return forward(false);
          sendError(res, requestId, new ApiError('unavailable', 'The backend does not answer.'));
        });
        upstream.end(body);
      };
      forward(true);
    })().catch((err: unknown) => {
      const answer = toApiError(err);
      // A fault of the gateway itself is answered `internal` like any other; say what it was.
      if (answer.code === 'internal') console.error(`gateway: ${req.method} ${req.url}:`, err);
      sendError(res, requestId, answer);
    });
  });
}
