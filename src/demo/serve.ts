/**
 * A node:http server on a unix socket for the demo's fake endpoints. Closing it drops open
 * connections too (the Docker events stream never ends by itself), so nothing outlives the demo.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenUnix } from '../ipc/listen.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface FakeServer {
  /** `unix:///path`, as DOCKER_HOST and the collectors' URLs take it. */
  readonly address: string;
  close(): Promise<void>;
}

/** Serves `handler` on a unix socket (listened on as the daemon's own socket is). */
export async function serveFake(socketPath: string, handler: Handler): Promise<FakeServer> {
  const server = createServer((req, res) => {
    try {
      handler(req, res);
    } catch (error) {
      sendJson(res, 500, { message: error instanceof Error ? error.message : String(error) });
    }
  });
  await listenUnix(server, socketPath);
  return {
    address: `unix://${socketPath}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A JSON reply; `body` given as text is sent as is (the recorded bytes). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The request's path and query (a unix-socket request has no meaningful host). */
export function requestUrl(req: IncomingMessage): URL {
  return new URL(req.url ?? '/', 'http://localhost');
}
