// The one entry point Cloud Functions deploys: every function target, registered by name.
import * as functions from '@google-cloud/functions-framework';
import { installFrameworkErrorHandler } from './lib/framework.js';
import { orderWorkerHandler } from './order-worker/index.js';
import { ordersHandler } from './orders/index.js';
import { salesHandler } from './sales/index.js';
import { sweeperHandler } from './sweeper/index.js';
import { usersHandler } from './users/index.js';

installFrameworkErrorHandler();

export const FUNCTION_TARGETS = {
  users: usersHandler,
  sales: salesHandler,
  orders: ordersHandler,
  'order-worker': orderWorkerHandler,
  sweeper: sweeperHandler,
} as const;

for (const [name, handler] of Object.entries(FUNCTION_TARGETS)) functions.http(name, handler);
