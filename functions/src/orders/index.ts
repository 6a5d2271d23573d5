// The orders function's route table: placing an order (place.ts), reading the caller's orders
// (read.ts), checkout and cancel of a hold (end-hold.ts).
import { authenticate } from '../lib/auth.js';
import { healthRoute } from '../lib/health.js';
import { httpFunction, parseBody, parseInput } from '../lib/http.js';
import { cancel, checkout } from './end-hold.js';
import { placeOrder } from './place.js';
import { listOrders, orderOf } from './read.js';
import { checkoutSchema, listQuerySchema, orderIdParam } from './schemas.js';

export const ordersHandler = httpFunction('orders', [
  {
    method: 'POST',
    path: '/orders',
    handler: ({ req, log }) => {
      const principal = authenticate(req);
      return principal instanceof Promise
        ? principal.then((p) => placeOrder(req, p.userId, log))
        : placeOrder(req, principal.userId, log);
    },
  },
  {
    method: 'GET',
    path: '/orders',
    handler: async ({ req, query }) => {
      const { userId } = await authenticate(req);
      const filter = parseInput(listQuerySchema, Object.fromEntries(query));
      return { status: 200, body: await listOrders(userId, filter.product_id, filter) };
    },
  },
  {
    method: 'GET',
    path: '/orders/:order_id',
    handler: async ({ req, params }) => {
      const { userId } = await authenticate(req);
      return { status: 200, body: await orderOf(orderIdParam(params.order_id), userId) };
    },
  },
  {
    method: 'POST',
    path: '/orders/:order_id/checkout',
    handler: async ({ req, params }) => {
      const { userId } = await authenticate(req);
      const input = parseBody(req, checkoutSchema);
      return { status: 200, body: await checkout(orderIdParam(params.order_id), userId, input.payment_token) };
    },
  },
  {
    method: 'DELETE',
    path: '/orders/:order_id',
    handler: async ({ req, params }) => {
      const { userId } = await authenticate(req);
      return { status: 200, body: await cancel(orderIdParam(params.order_id), userId) };
    },
  },
  healthRoute({ postgres: true, redis: true }),
]);
