// Every deployed function target by name: the handlers, whichever host serves them.
import { jwksHandler } from './jwks/index.js';
import { orderWorkerHandler } from './order-worker/index.js';
import { ordersHandler } from './orders/index.js';
import { salesHandler } from './sales/index.js';
import { sweeperHandler } from './sweeper/index.js';
import { usersHandler } from './users/index.js';
import type { HttpHandler } from './lib/http.js';
import type { FunctionTarget } from './function-names.js';

export { FUNCTION_NAMES, type FunctionTarget } from './function-names.js';

/** A handler for every name of FUNCTION_NAMES, none more (the type says so). */
export const FUNCTION_TARGETS: Record<FunctionTarget, HttpHandler> = {
  users: usersHandler,
  sales: salesHandler,
  orders: ordersHandler,
  'order-worker': orderWorkerHandler,
  sweeper: sweeperHandler,
  jwks: jwksHandler,
};
