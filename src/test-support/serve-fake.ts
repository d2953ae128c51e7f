/**
 * The listening half of the fake HTTP servers tests talk to (kubelet, Kubernetes API server, ECS
 * endpoints): plain HTTP, or HTTPS with a certificate from certs.ts made at test time, on
 * 127.0.0.1 and an ephemeral port, so parallel test files never collide.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestCert } from './certs.js';

export interface ServedFake {
  /** `http://127.0.0.1:<port>` or `https://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  /** Drops open connections (held-open responses included) and stops listening. */
  close(): Promise<void>;
}

export async function serveFake(handler: (req: IncomingMessage, res: ServerResponse) => void, options: { readonly tls?: TestCert } = {}): Promise<ServedFake> {
  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
