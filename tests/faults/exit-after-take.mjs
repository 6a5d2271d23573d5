// Preloaded into the orders function by the fault suite (NODE_OPTIONS=--import this file): the
// process exits right after take-n.lua hands out a unit and before its enqueue, the crash of
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
    return called.then((flat) => {
      // Five values per attempt of the group (code … replayed): a new unit taken by any of
      // them, die before its enqueue.
      for (let i = 0; i < flat.length; i += 5) if (flat[i] === 0 && flat[i + 4] === 0) process.exit(CRASH_EXIT_CODE);
      return flat;
    });
  };
};
