// Errors the Functions Framework raises before our handler runs (its JSON body parser on a
// malformed body) go to Express's default handler, which answers HTML with a stack trace
// (functions-framework-nodejs issue #686). This routes them to our catalogue instead.
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './errors.js';
import { requestIdOf, sendError, toApiError } from './http.js';
import { errorFields, log } from './log.js';

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
    const done: Done =
      callback ??
      ((err) => {
        const apiError = err === undefined ? new ApiError('not_found', 'No such route.') : toApiError(err);
        if (apiError.status >= 500) log.error('framework error', errorFields(err));
        sendError(res, requestIdOf(req), apiError);
      });
    return original.call(this, req, res, done);
  };
}
