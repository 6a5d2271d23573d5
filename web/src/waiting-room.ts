// The waiting room in the client, pure so that it is tested without a browser: whether a sale's
// room is on, the buyer's step of the journey from GET /sales/{id}/queue/me (waiting →
// admitted → holding → confirmed, or sold out / expired / cancelled / ended), the progress
// and the estimate in a buyer's words, and when to ask again (docs/api.md, Waiting room).
import type { Order, QueueTicket, Sale, WaitingRoom } from './api';
import { offerOf, orderStep, type Offer, type OrderStep, type SaleShows } from './logic';

export type { QueueTicket, WaitingRoom };

/** The sale's room when it is configured on (always, or above a rate of attempts); null when off. */
export function roomOf(sale: Pick<Sale, 'waiting_room'> | null | undefined): WaitingRoom | null {
  const room = sale?.waiting_room;
  return room && room.mode !== 'off' ? room : null;
}

/** The buyer's step, in the order of the journey; the order, when there is one, says the most. */
export type RoomStep = 'pre-queue' | 'waiting' | 'admitted' | 'admission ran out' | OrderStep | 'ended';

/**
 * Where the buyer stands at server time `nowMs`. `ended` before the sale's end (`endsAtMs`) is an
 * admission that lapsed unused.
 */
export function roomStep(ticket: Pick<QueueTicket, 'state' | 'place' | 'admitted_until' | 'order'>, nowMs: number, endsAtMs = -Infinity): RoomStep {
  if (ticket.order) return orderStep(ticket.order, nowMs);
  switch (ticket.state) {
    case 'sold_out':
      return 'sold out';
    case 'ended':
      return nowMs < endsAtMs ? 'admission ran out' : 'ended';
    case 'admitted':
      return ticket.admitted_until && Date.parse(ticket.admitted_until) <= nowMs ? 'admission ran out' : 'admitted';
    default:
      return ticket.place === null ? 'pre-queue' : 'waiting';
  }
}

/**
 * Steps after which nothing more happens: polling stops. A queue closed as sold out is still
 * asked about, slowly: a unit given back (a hold run out, a cancel) reopens it.
 */
export function isFinalStep(step: RoomStep): boolean {
  return step === 'confirmed' || step === 'expired' || step === 'cancelled' || step === 'failed' || step === 'ended' || step === 'admission ran out';
}

/** How far along the queue the buyer is (0–1): measured from the most people ever seen ahead. */
export function progressOf(ahead: number | null, mostAhead: number | null): number {
  if (ahead === null) return 0;
  if (!mostAhead || mostAhead <= 0) return ahead <= 0 ? 1 : 0;
  return Math.min(1, Math.max(0, 1 - ahead / mostAhead));
}

/** "any moment now", "about 15 s", "about 3 min", "about 1 h 05 min"; null: not known yet. */
export function formatWait(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return 'working it out…';
  if (seconds <= 2) return 'any moment now';
  if (seconds < 60) return `about ${Math.max(5, Math.ceil(seconds / 5) * 5)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min`;
  return `about ${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** Bounds of the queue's polling: never faster than this, nor slower while the page is seen. */
export const QUEUE_POLL_MIN_MS = 1000;
export const QUEUE_POLL_MAX_MS = 10_000;
/** While the page is hidden: slower, but an admission is never missed for it. */
export const QUEUE_POLL_HIDDEN_MAX_MS = 30_000;
/** The pre-queue's first ask after the opening is spread over this much (or a quarter of an admission). */
export const PRE_QUEUE_SPREAD_MS = 5000;

export interface PollContext {
  visible: boolean;
  /** Server time now. */
  nowMs: number;
  /** When the sale opens (server time): the pre-queue asks again just after it. */
  startsAtMs?: number;
  /** When it ends (server time): a ticket `ended` before then is a lapsed admission. */
  endsAtMs?: number;
  /** The room's admission_seconds: a hidden page still asks often enough not to let one run out. */
  admissionSeconds?: number;
  /** 0–1, spreads a crowd's polls (±10%); Math.random by default. */
  random?: number;
}

/**
 * When to ask GET queue/me again (ms), or null when the journey is over. Waiting: the estimate
 * sets the interval (half of it), within [1 s, 10 s] (30 s hidden), so a long queue asks rarely
 * and the front often; admitted or holding: when the admission or the hold runs out, or sooner.
 */
export function nextQueuePollMs(ticket: QueueTicket, context: PollContext): number | null {
  const step = roomStep(ticket, context.nowMs, context.endsAtMs);
  if (isFinalStep(step)) return null;
  // Sold out with an order of one's own is over; sold out while waiting may reopen.
  if (step === 'sold out' && ticket.order) return null;
  const max = context.visible ? QUEUE_POLL_MAX_MS : Math.min(QUEUE_POLL_HIDDEN_MAX_MS, Math.max(QUEUE_POLL_MIN_MS, ((context.admissionSeconds ?? 60) * 1000) / 3));
  const clamp = (ms: number) => Math.min(max, Math.max(QUEUE_POLL_MIN_MS, ms));
  const jitter = (ms: number) => Math.round(ms * (0.9 + 0.2 * (context.random ?? Math.random())));
  switch (step) {
    case 'pre-queue': {
      const untilOpen = context.startsAtMs === undefined ? Infinity : context.startsAtMs - context.nowMs;
      if (untilOpen > max) return clamp(jitter(max));
      // Just after the opening, spread over a few seconds: the places are drawn at random, so
      // asking later costs nothing, and a pre-queue of thousands does not ask in one instant.
      const spread = Math.min(PRE_QUEUE_SPREAD_MS, ((context.admissionSeconds ?? 60) * 1000) / 4);
      return Math.max(QUEUE_POLL_MIN_MS, Math.round(untilOpen + 250 + (context.random ?? Math.random()) * spread));
    }
    case 'waiting':
      // Half the estimate: the place is seen to move at least twice before the turn, and the
      // turn is noticed within half of what was left of the wait.
      return clamp(jitter((ticket.estimated_wait_seconds ?? 1) * 500));
    case 'in progress':
      return QUEUE_POLL_MIN_MS;
    case 'admitted': {
      const until = ticket.admitted_until ? Date.parse(ticket.admitted_until) - context.nowMs + 250 : max;
      return clamp(Math.min(until, 5000));
    }
    case 'holding': {
      const until = ticket.order?.expires_at ? Date.parse(ticket.order.expires_at) - context.nowMs + 500 : max;
      return clamp(Math.min(until, 5000));
    }
    default:
      return clamp(max);
  }
}

const ORDER_RANK: Record<string, number> = { pending: 0, reserved: 1 };

/**
 * Of the order queue/me says and the one this page last saw (the answer to its own buy, pay or
 * cancel), the one further along: a poll that left before the click must not undo it.
 */
export function laterOrder(fromQueue: Order | null, fromPage: Order | null): Order | null {
  if (!fromPage) return fromQueue;
  if (!fromQueue || fromQueue.order_id !== fromPage.order_id) return fromQueue ?? fromPage;
  return (ORDER_RANK[fromPage.status] ?? 2) > (ORDER_RANK[fromQueue.status] ?? 2) ? fromPage : fromQueue;
}

/** What the buyer reads at each step: a heading and a sentence. */
export function roomWords(step: RoomStep, ticket: Pick<QueueTicket, 'place' | 'ahead'>): { title: string; text: string } {
  switch (step) {
    case 'pre-queue':
      return { title: 'You are in the waiting room', text: 'When the sale opens, everyone here gets a place drawn at random: arriving early gives no advantage, and nobody is served before you for it.' };
    case 'waiting':
      return {
        title: ticket.ahead === 0 ? 'You are next' : 'You are in the queue',
        text: 'Keep this page open: it moves on by itself when it is your turn. Leaving does not lose your place.',
      };
    case 'admitted':
      return { title: 'It is your turn', text: 'You can buy now, before your turn runs out: then it goes to the next person in line.' };
    case 'admission ran out':
      return { title: 'Your turn has passed', text: 'You did not buy in time, so your turn went to the next person in line.' };
    case 'in progress':
      return { title: 'Buying…', text: 'We are writing your order down; this takes a moment.' };
    case 'holding':
      return { title: 'Held for you', text: 'Pay before the time runs out, or the item goes to the next person in line.' };
    case 'hold ran out':
    case 'expired':
      return { title: 'Your hold ran out', text: 'The item went to the next person in line.' };
    case 'confirmed':
      return { title: 'You bought this', text: 'It is yours.' };
    case 'cancelled':
      return { title: 'You cancelled', text: 'The item went to the next person in line.' };
    case 'sold out':
      return { title: 'Sold out', text: 'Every unit is sold or held, so the queue has closed for now; nothing was taken from you. If a unit comes back (someone does not pay in time), the queue opens again: keep this page open.' };
    case 'failed':
      return { title: 'Not completed', text: 'Your order could not be completed; nothing was charged.' };
    case 'ended':
      return { title: 'The sale has ended', text: 'The queue has closed.' };
  }
}

/**
 * What the sale page offers a buyer in the room: "Buy now" only while admitted, the order's
 * own steps after it (pay or cancel, bought), and nothing else: the room's screen says the rest.
 */
export function roomOffer(step: RoomStep | null, shows: SaleShows, order: Pick<Order, 'status' | 'expires_at'> | null, nowMs: number): Offer {
  switch (step) {
    case 'admitted':
      return shows === 'active' ? 'buy' : 'nothing';
    case 'in progress':
    case 'holding':
    case 'hold ran out':
    case 'confirmed':
      return offerOf(shows, true, order, nowMs);
    default:
      return 'nothing';
  }
}

/** People admitted per second between two readings of a sale's `admitted` (null: not measurable yet). */
export function measuredAdmissionRate(before: { admitted: number; atMs: number } | undefined, after: { admitted: number; atMs: number }): number | null {
  if (!before || after.atMs - before.atMs < 500 || after.admitted < before.admitted) return null;
  return ((after.admitted - before.admitted) * 1000) / (after.atMs - before.atMs);
}

/** The waiting_room body of POST /sales/update that changes the rate and keeps the rest. */
export function roomWithRate(
  room: WaitingRoom,
  admitPerSecond: number,
): Pick<WaitingRoom, 'mode' | 'admit_per_second' | 'admission_seconds' | 'above_attempts_per_second' | 'proof_of_work_bits'> {
  return {
    mode: room.mode,
    admit_per_second: admitPerSecond,
    admission_seconds: room.admission_seconds,
    ...(room.above_attempts_per_second != null ? { above_attempts_per_second: room.above_attempts_per_second } : {}),
    proof_of_work_bits: room.proof_of_work_bits,
  };
}
