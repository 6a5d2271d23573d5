// Checkout and cancel of a held order (design.md §4, Holds): lib/holds.ts decides in one
// PostgreSQL transaction; here each outcome becomes the buyer's answer.
import { ApiError } from '../lib/errors.js';
import { endHold } from '../lib/holds.js';
import { publishSale } from '../lib/live-view.js';
import type { Order } from '../lib/order-row.js';
import { fakePaymentProvider, type PaymentProvider } from './payments.js';
import { redisOrderById } from './read.js';
import { orderFromRow } from './view.js';

/** The payment provider of checkout; the fake one until a real one is configured. */
const payments: PaymentProvider = fakePaymentProvider;

/** Checkout or cancel of an order PostgreSQL does not have: still pending, or not the caller's. */
async function notWrittenYet(orderId: string, userId: string, code: 'not_checkoutable' | 'not_cancellable'): Promise<never> {
  if (await redisOrderById(orderId, userId)) {
    throw new ApiError(code, 'The order is still being processed; try again in a moment.');
  }
  throw new ApiError('not_found', 'No such order.');
}

/** POST /orders/{order_id}/checkout: charges, then confirms the hold. */
export async function checkout(orderId: string, userId: string, paymentToken: string | undefined): Promise<Order> {
  const outcome = await endHold(orderId, 'checkout', {
    userId,
    charge: async (order) => {
      const paid = await payments.charge({ orderId: order.order_id, userId, paymentToken: paymentToken ?? null });
      if (!paid.approved) throw new ApiError('not_checkoutable', `The payment was declined: ${paid.reason}.`);
      return { paymentToken: paymentToken ?? null, reference: paid.reference };
    },
  });
  if (outcome.result === 'done' || outcome.result === 'expired') void publishSale(outcome.order.sale_id);
  switch (outcome.result) {
    case 'done':
      return orderFromRow(outcome.order);
    case 'expired':
      throw new ApiError('hold_expired');
    case 'not_held':
      if (outcome.order.status === 'expired') throw new ApiError('hold_expired');
      throw new ApiError('not_checkoutable', `This order is ${outcome.order.status}; only a held order can be checked out.`);
    default:
      return notWrittenYet(orderId, userId, 'not_checkoutable');
  }
}

/** DELETE /orders/{order_id}: gives the held unit back. */
export async function cancel(orderId: string, userId: string): Promise<Order> {
  const outcome = await endHold(orderId, 'cancel', { userId });
  if (outcome.result === 'done' || outcome.result === 'expired') void publishSale(outcome.order.sale_id);
  switch (outcome.result) {
    case 'done':
      return orderFromRow(outcome.order);
    case 'expired':
      throw new ApiError('not_cancellable', 'The hold has expired; the unit is back on sale.');
    case 'not_held':
      throw new ApiError('not_cancellable', `This order is ${outcome.order.status}; only a held order can be cancelled.`);
    default:
      return notWrittenYet(orderId, userId, 'not_cancellable');
  }
}
