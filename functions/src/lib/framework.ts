// Errors the Functions Framework raises before our handler runs (its JSON body parser on a
// malformed body) go to Express's default handler, which answers HTML with a stack trace
// (functions-framework-nodejs issue #686). This routes them to our catalogue instead.
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './errors.js';
import { BODY_REFUSED_ROUTE, requestIdOf, sendError, toApiError } from './http.js';
import { errorFields, log, logAccess, traceFields } from './log.js';

type Done = (err?: unknown) => void;
type Handle = (this: unknown, req: IncomingMessage, res: ServerResponse, callback?: Done) => unknown;

let installed = false;

export function installFrameworkErrorHandler(): void {
  if (installed) return;
  installed = true;
  // The express instance the framework itself loads, not whichever one we might resolve.
  const requireFromHere = createRequire(import.meta.url);
  const requireFromFramework = createRequire(requireFromHere.resolve('@google-cloud/functions-framework'));
  const express = requireFromFramework('express') as { application: { handle: Handle } };
  const original = express.application.handle;
  express.application.handle = function handle(req, res, callback) {
    const startedAt = performance.now();
    const done: Done =
      callback ??
      ((err) => {
        const apiError = err === undefined ? new ApiError('not_found', 'No such route.') : toApiError(err);
        const requestId = requestIdOf(req);
        if (apiError.status >= 500) log.error('framework error', { request_id: requestId, ...traceFields(req.headers), ...errorFields(err) });
        sendError(res, requestId, apiError);
        // Our handler never saw this request: its access line is written here.
        logAccess({
          function: process.env.FUNCTION_TARGET ?? 'framework',
          method: req.method ?? 'GET',
          route: BODY_REFUSED_ROUTE,
          status: res.statusCode,
          startedAt,
          requestId,
          error: apiError.code,
          protocol: `HTTP/${req.httpVersion}`,
          trace: traceFields(req.headers),
        });
      });
    return original.call(this, req, res, done);
  };
}
