// The payment port of checkout. One provider today, a fake that approves everything, so a
// real one (Stripe, Adyen, …) plugs in behind the same interface later.
import { randomUUID } from 'node:crypto';

export interface PaymentRequest {
  orderId: string;
  userId: string;
  paymentToken: string | null;
}

export type PaymentResult = { approved: true; reference: string } | { approved: false; reason: string };

export interface PaymentProvider {
  charge(request: PaymentRequest): Promise<PaymentResult>;
}

/** Approves every charge, with a reference that says where it came from. */
export const fakePaymentProvider: PaymentProvider = {
  charge: async () => ({ approved: true, reference: `fake-${randomUUID()}` }),
};
