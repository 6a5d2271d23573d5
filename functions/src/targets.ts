// Every deployed function target by name: the handlers, whichever host serves them.
import { jwksHandler } from './jwks/index.js';
import { orderWorkerHandler } from './order-worker/index.js';
import { ordersHandler } from './orders/index.js';
import { salesHandler } from './sales/index.js';
import { sweeperHandler } from './sweeper/index.js';
import { usersHandler } from './users/index.js';
import type { HttpHandler } from './lib/http.js';

export const FUNCTION_TARGETS: Record<'users' | 'sales' | 'orders' | 'order-worker' | 'sweeper' | 'jwks', HttpHandler> = {
  users: usersHandler,
  sales: salesHandler,
  orders: ordersHandler,
  'order-worker': orderWorkerHandler,
  sweeper: sweeperHandler,
  jwks: jwksHandler,
};

export type FunctionTarget = keyof typeof FUNCTION_TARGETS;
