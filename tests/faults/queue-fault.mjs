// Preloaded into the orders function by the fault suite (NODE_OPTIONS=--import this file): the
// task queue fails while the file QUEUE_FAULT_FILE says so. `down`: every enqueue fails before
// it reaches the queue, as ioredis fails a command on a connection that is down (the queue
// unavailable). `unknown`: every enqueue reaches the queue and
// then fails (a reset after the write: the task exists, the caller hears an error). Any other
// content, or no file: the queue works. It wraps BullMQ's Queue.add, so that no hook of it sits
// on the production path.
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';

const file = process.env.QUEUE_FAULT_FILE;
const mode = () => {
  try {
    return file ? readFileSync(file, 'utf8').trim() : '';
  } catch {
    return '';
  }
};

const add = Queue.prototype.add;
Queue.prototype.add = async function addWithFault(...args) {
  const fault = mode();
  // What ioredis says when the queue's Redis is down and nothing was sent (the adapter turns
  // the offline queue off so that this case is known for certain): the adapter reads it as a
  // refusal. A bare Error would be an unknown outcome, which is case 12.
  if (fault === 'down') throw new Error("Stream isn't writeable and enableOfflineQueue options is false (queue-fault: the queue is unavailable, nothing written)");
  const job = await add.apply(this, args);
  if (fault === 'unknown') throw new Error('queue-fault: connection reset after the write (the task exists)');
  return job;
};
