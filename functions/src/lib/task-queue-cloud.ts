// The Cloud Tasks adapter of the TaskQueue port: an HTTP task to the worker with an OIDC token.
import { CloudTasksClient, type protos } from '@google-cloud/tasks';
import type { Config } from './config.js';
import { taskId, taskUrl, type QueuedTask, type TaskQueue } from './task-queue.js';

type CreateTaskRequest = protos.google.cloud.tasks.v2.ICreateTaskRequest;

/** gRPC's ALREADY_EXISTS: a task of that name exists or existed recently — our dedup. */
const ALREADY_EXISTS = 6;

export type CloudTasksSettings = Pick<
  Config,
  'TASKS_PROJECT' | 'TASKS_LOCATION' | 'TASKS_QUEUE' | 'WORKER_URL' | 'TASKS_SERVICE_ACCOUNT'
>;

export function queuePath(cfg: CloudTasksSettings): string {
  return `projects/${cfg.TASKS_PROJECT}/locations/${cfg.TASKS_LOCATION}/queues/${cfg.TASKS_QUEUE}`;
}

/** The createTask request for one task: pure, so that it is unit-tested without the cloud. */
export function buildTaskRequest(cfg: CloudTasksSettings, task: QueuedTask): CreateTaskRequest {
  const parent = queuePath(cfg);
  const request: CreateTaskRequest = {
    parent,
    task: {
      name: `${parent}/tasks/${taskId(task)}`,
      httpRequest: {
        httpMethod: 'POST',
        url: taskUrl(cfg.WORKER_URL, task.kind),
        headers: { 'Content-Type': 'application/json' },
        body: Buffer.from(JSON.stringify(task.payload)).toString('base64'),
        oidcToken: { serviceAccountEmail: cfg.TASKS_SERVICE_ACCOUNT, audience: new URL(cfg.WORKER_URL).origin },
      },
    },
  };
  if (task.kind === 'expire-hold' && request.task) {
    const ms = task.at.getTime();
    request.task.scheduleTime = { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
  }
  return request;
}

export function createCloudTasksQueue(cfg: CloudTasksSettings): TaskQueue {
  if (!cfg.TASKS_PROJECT || !cfg.TASKS_SERVICE_ACCOUNT) {
    throw new Error('TASK_QUEUE=cloud-tasks needs TASKS_PROJECT and TASKS_SERVICE_ACCOUNT');
  }
  const client = new CloudTasksClient();
  return {
    async enqueue(task) {
      try {
        await client.createTask(buildTaskRequest(cfg, task));
      } catch (err) {
        if ((err as { code?: unknown }).code !== ALREADY_EXISTS) throw err;
      }
    },
    close: () => client.close(),
  };
}
