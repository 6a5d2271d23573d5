// This instance's TaskQueue (task-queue-port.ts): Cloud Tasks in the cloud, BullMQ on a Redis
// locally, per TASK_QUEUE. The adapters build on the port alone, so nothing imports back here.
import { config } from './config.js';
import type { TaskQueue } from './task-queue-port.js';

let shared: Promise<TaskQueue> | undefined;

/** This instance's queue, per TASK_QUEUE; the adapter is imported only where it is used. */
export function taskQueue(): Promise<TaskQueue> {
  shared ??=
    config().TASK_QUEUE === 'cloud-tasks'
      ? import('./task-queue-cloud.js').then((m) => m.createCloudTasksQueue(config()))
      : import('./task-queue-local.js').then((m) => m.createLocalQueue(config()));
  return shared;
}
