// Artillery hooks for flash-sale.yml: one Idempotency-Key per buyer, every purchase attempt
// appended to HISTORY_FILE (ok = 202, fail = a refusal, info = unknown) for the invariant
// checker, and the order followed until it is final.
const { appendFileSync } = require('node:fs');
const { randomUUID } = require('node:crypto');

const historyFile = process.env.HISTORY_FILE;

function startBuyer(context, events, done) {
  context.vars.idempotency_key = `artillery-${randomUUID()}`;
  context.vars.outcome = 'none';
  context.vars.order_status = 'pending';
  context.vars.has_order = 0;
  events.emit('counter', 'flash.server_errors', 0);
  return done();
}

function recordAttempt(req, res, context, events, done) {
  const status = res.statusCode;
  let body = {};
  try {
    body = JSON.parse(res.body);
  } catch {
    // not JSON: an unknown outcome
  }
  const outcome = status === 202 ? 'ok' : status >= 500 ? 'info' : 'fail';
  if (status >= 500) events.emit('counter', 'flash.server_errors', 1);
  context.vars.outcome = outcome;
  if (outcome === 'ok') {
    context.vars.order_id = body.order_id;
    context.vars.has_order = 1;
  }
  if (historyFile) {
    appendFileSync(
      historyFile,
      JSON.stringify({ userId: context.vars.user_id, idempotencyKey: context.vars.idempotency_key, outcome, status, error: body.error, orderId: body.order_id }) + '\n',
    );
  }
  return done();
}

function readOrderStatus(req, res, context, events, done) {
  if (res.statusCode >= 500) events.emit('counter', 'flash.server_errors', 1);
  try {
    context.vars.order_status = JSON.parse(res.body).status;
  } catch {
    context.vars.order_status = 'pending';
  }
  return done();
}

/** Try again while the outcome is unknown (a 5xx or nothing at all yet). */
function outcomeUnknown(context, next) {
  return next(context.vars.outcome === 'none' || context.vars.outcome === 'info');
}

/** Follow the order while it is in progress; buyers who got no unit have nothing to follow. */
function orderPending(context, next) {
  return next(context.vars.outcome === 'ok' && context.vars.order_status === 'pending');
}

module.exports = { startBuyer, recordAttempt, readOrderStatus, outcomeUnknown, orderPending };
