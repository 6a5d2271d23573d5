// Preloaded into the orders function and the order-worker by the fault suite
// (NODE_OPTIONS=--import this file): every FAIL_SETTLE_EVERY-th call of settle-4.lua fails
// without reaching Redis, as a Redis that fails between a PostgreSQL commit and the Redis
// update would. It wraps the command on every Redis client, so that no hook of it sits on the
// production path.
import { Redis } from 'ioredis';

const every = Number(process.env.FAIL_SETTLE_EVERY ?? 2);
let calls = 0;

const defineCommand = Redis.prototype.defineCommand;
Redis.prototype.defineCommand = function defineWrapped(name, definition) {
  defineCommand.call(this, name, definition);
  if (name !== 'settle') return;
  const settle = this[name];
  this[name] = function settleOrFail(...args) {
    // ioredis copies the command onto the pipeline it batches calls in: wrap the client's call only.
    if (!(this instanceof Redis)) return settle.apply(this, args);
    calls++;
    if (calls % every === 0) return Promise.reject(new Error('fail-settle: Redis failed after the commit (Connection is closed.)'));
    return settle.apply(this, args);
  };
};
