// Artillery hooks for waiting-room.yml: the join's proof of work (SHA-256 of
// "<sale_id>:<user_id>:<nonce>" with PROOF_BITS leading zero bits, as the web client solves it),
// the ticket followed at the web client's pace (half the estimate, within 1–10 s, ±10%), and the
// purchase recorded in HISTORY_FILE for the invariant checker as flash-sale.yml does (processor.cjs).
const { hash } = require('node:crypto');
const base = require('./processor.cjs');

const PROOF_BITS = Number(process.env.PROOF_BITS ?? 0);
const STARTS_AT_MS = Date.parse(process.env.STARTS_AT ?? '') || 0;
const POLL_MIN_MS = 1000;
const POLL_MAX_MS = 10_000;
const PRE_QUEUE_SPREAD_MS = 5000;

function leadingZeroBits(bytes) {
  let bits = 0;
  for (const byte of bytes) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

const COUNTERS = ['room.join_refused', 'room.joined', 'room.admitted', 'room.sold_out', 'room.ended', 'room.not_admitted', 'room.lost', 'room.bought', 'room.polls'];

function startRoomBuyer(context, events, done) {
  for (const name of COUNTERS) events.emit('counter', name, 0);
  context.vars.ticket_state = 'none';
  context.vars.estimate_s = 1;
  context.vars.admitted = 0;
  context.vars.join_status = 0;
  return base.startBuyer(context, events, done);
}

function proveWork(context, events, done) {
  const prefix = `${context.vars.sale_id}:${context.vars.user_id}:`;
  let nonce = 0;
  if (PROOF_BITS > 0) {
    // crypto.hash, one call per nonce: the load generator's own CPU is the scarce thing here.
    while (leadingZeroBits(hash('sha256', prefix + nonce, 'buffer')) < PROOF_BITS) nonce++;
  }
  context.vars.proof_of_work = String(nonce);
  return done();
}

function parse(res) {
  try {
    return JSON.parse(res.body);
  } catch {
    return {};
  }
}

function takeTicket(ticket, context, events) {
  const before = context.vars.ticket_state;
  context.vars.ticket_state = ticket.state ?? before;
  context.vars.estimate_s = ticket.estimated_wait_seconds ?? 1;
  context.vars.place = ticket.place;
  if (ticket.state !== before) {
    if (ticket.state === 'admitted') events.emit('counter', 'room.admitted', 1);
    if (ticket.state === 'sold_out') events.emit('counter', 'room.sold_out', 1);
    if (ticket.state === 'ended') events.emit('counter', 'room.ended', 1);
  }
  context.vars.admitted = ticket.state === 'admitted' ? 1 : 0;
}

function readJoin(req, res, context, events, done) {
  context.vars.join_status = res.statusCode;
  if (res.statusCode >= 500) events.emit('counter', 'flash.server_errors', 1);
  if (res.statusCode === 200) {
    events.emit('counter', 'room.joined', 1);
    takeTicket(parse(res), context, events);
  } else if (res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 429) events.emit('counter', 'room.join_refused', 1);
  return done();
}

/** Join again while the answer is unknown (no answer, a 5xx, a 429). */
function joinUnknown(context, next) {
  const s = context.vars.join_status;
  return next(s === 0 || s === 429 || s >= 500);
}

function pauseAfterTrouble(context, events, done) {
  const s = context.vars.join_status;
  return setTimeout(done, s === 0 || s === 429 || s >= 500 ? 1000 : 0);
}

/** The web client's interval (web/src/waiting-room.ts, nextQueuePollMs). */
function waitForNextPoll(context, events, done) {
  const jitter = 0.9 + 0.2 * Math.random();
  let ms;
  const untilOpen = STARTS_AT_MS ? STARTS_AT_MS - Date.now() : Infinity;
  if ((context.vars.place === null || context.vars.place === undefined) && untilOpen <= POLL_MAX_MS) {
    // The pre-queue's first ask after the opening, spread over 5 s.
    ms = Math.max(POLL_MIN_MS, Math.round(untilOpen + 250 + Math.random() * PRE_QUEUE_SPREAD_MS));
  } else {
    ms = context.vars.place === null || context.vars.place === undefined ? POLL_MAX_MS : context.vars.estimate_s * 500;
    ms = Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, Math.round(Math.min(ms, POLL_MAX_MS) * jitter)));
  }
  events.emit('counter', 'room.polls', 1);
  return setTimeout(done, ms);
}

function readTicket(req, res, context, events, done) {
  if (res.statusCode >= 500) events.emit('counter', 'flash.server_errors', 1);
  if (res.statusCode === 200) takeTicket(parse(res), context, events);
  return done();
}

/** Waiting (or not joined: a join that was refused leaves at once). */
function stillWaiting(context, next) {
  const s = context.vars.ticket_state;
  return next(s === 'waiting' && context.vars.join_status === 200);
}

function recordRoomAttempt(req, res, context, events, done) {
  if (res.statusCode === 403 && parse(res).error === 'not_admitted') events.emit('counter', 'room.not_admitted', 1);
  if (res.statusCode === 202) events.emit('counter', 'room.bought', 1);
  return base.recordAttempt(req, res, context, events, done);
}

/** Buy while admitted and the outcome is unknown. */
function mayBuy(context, next) {
  return next(context.vars.admitted === 1 && (context.vars.outcome === 'none' || context.vars.outcome === 'info'));
}

/** Every buyer ends admitted (and bought or refused), sold out or ended: anything else is lost. */
function countEnd(context, events, done) {
  const s = context.vars.ticket_state;
  if (!(s === 'admitted' || s === 'sold_out' || s === 'ended') && context.vars.join_status === 200) events.emit('counter', 'room.lost', 1);
  return done();
}

module.exports = {
  startRoomBuyer,
  proveWork,
  readJoin,
  joinUnknown,
  pauseAfterTrouble,
  waitForNextPoll,
  readTicket,
  stillWaiting,
  recordRoomAttempt,
  mayBuy,
  countEnd,
  readOrderStatus: base.readOrderStatus,
  orderPending: base.orderPending,
};
