// This instance's TaskQueue (task-queue-port.ts): Cloud Tasks in the cloud, BullMQ on a Redis
// locally, per TASK_QUEUE. The adapters build on the port alone, so nothing imports back here.
import { config } from './config.js';
import { OrderEnqueuer } from './task-queue-group.js';
import { TASK_BODY_MAX_BYTES, type EnqueueOutcome, type OrderTask, type TaskQueue } from './task-queue-port.js';

let shared: Promise<TaskQueue> | undefined;

/** This instance's queue, per TASK_QUEUE; the adapter is imported only where it is used. */
export function taskQueue(): Promise<TaskQueue> {
  shared ??=
    config().TASK_QUEUE === 'cloud-tasks'
      ? import('./task-queue-cloud.js').then((m) => m.createCloudTasksQueue(config()))
      : import('./task-queue-local.js').then((m) => m.createLocalQueue(config()));
  return shared;
}

let orders: OrderEnqueuer | undefined;

/** Queues an accepted order with the others of this turn, in one task (task-queue-group.ts). */
export function enqueueOrder(order: OrderTask): Promise<EnqueueOutcome> {
  orders ??= new OrderEnqueuer(taskQueue, { maxOrders: config().TASK_ORDERS_MAX, maxBytes: TASK_BODY_MAX_BYTES });
  return orders.enqueue(order);
}
