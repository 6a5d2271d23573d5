// Preloaded into the orders function by the fault suite (NODE_OPTIONS=--import this file): the
// process exits right after take-9.lua hands out a unit and before its enqueue, the crash of
// design.md §6 that the sweeper must finish. It wraps the take on every Redis client, so that
// no hook of it sits on the production path.
import { Redis } from 'ioredis';

/** The exit code of the crash, so that a log tells it from any other death. */
const CRASH_EXIT_CODE = 70;

const defineCommand = Redis.prototype.defineCommand;
Redis.prototype.defineCommand = function defineWrapped(name, definition) {
  defineCommand.call(this, name, definition);
  if (name !== 'take') return;
  const take = this[name];
  this[name] = function takeThenExit(...args) {
    const called = take.apply(this, args);
    // ioredis copies the command onto the pipeline it batches calls in: wrap the client's call only.
    if (!(this instanceof Redis)) return called;
    return called.then((reply) => {
      const [code, , , , replayed] = reply;
      if (code === 0 && replayed === 0) process.exit(CRASH_EXIT_CODE); // a new unit taken: die before the enqueue
      return reply;
    });
  };
};
