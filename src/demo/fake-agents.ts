/**
 * The kubelet and ECS agent endpoints of the demo, replaying recorded payloads: kubelet's
 * `GET /pods` (plain HTTP, as on the read-only port) and the ECS agent's introspection API
 * (`/v1/metadata`, `/v1/tasks`, `/v1/tasks?dockerid=`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DemoData } from './data.js';
import { requestUrl, sendJson } from './serve.js';

export function kubeletHandler(data: DemoData): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const { pathname } = requestUrl(req);
    if (pathname === '/pods') return sendJson(res, 200, data.kubeletPods);
    if (pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    sendJson(res, 404, { message: 'not found' });
  };
}

export function ecsAgentHandler(data: DemoData): (req: IncomingMessage, res: ServerResponse) => void {
  const nginxTask = JSON.parse(data.ecsAgentTaskNginx) as { Containers?: Array<{ DockerId?: string }> };
  const knownIds = new Set((nginxTask.Containers ?? []).map((c) => c.DockerId));
  const allTasks = JSON.parse(data.ecsAgentTasks) as { Tasks?: unknown[] };
  // The agent's task list holds every task it runs: the recorded list plus the nginx task.
  const taskList = JSON.stringify({ Tasks: [...(allTasks.Tasks ?? []), nginxTask] });
  return (req, res) => {
    const url = requestUrl(req);
    if (url.pathname === '/v1/metadata') return sendJson(res, 200, data.ecsAgentMetadata);
    if (url.pathname === '/v1/tasks') {
      const dockerId = url.searchParams.get('dockerid');
      if (dockerId === null) return sendJson(res, 200, taskList);
      // The agent answers 404 for a container it does not run.
      return knownIds.has(dockerId) ? sendJson(res, 200, data.ecsAgentTaskNginx) : sendJson(res, 404, { error: `no task for container ${dockerId}` });
    }
    sendJson(res, 404, { message: 'not found' });
  };
}
