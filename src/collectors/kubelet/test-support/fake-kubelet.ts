/**
 * A fake kubelet for tests: HTTPS (a certificate from src/test-support/certs.ts, made at test
 * time) or plain HTTP on 127.0.0.1, an ephemeral port. It checks the bearer token and serves whatever body the
 * test sets, or misbehaves on demand (status, garbage, truncation, a hang).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestCert } from '../../../test-support/certs.js';

export type Misbehaviour = 'none' | 'garbage' | 'truncated' | 'hang' | 'not-a-podlist' | 'status-500' | 'forbidden';

export class FakeKubelet {
  /** The /pods body to serve. */
  body = '{"kind":"PodList","items":[]}';
  misbehave: Misbehaviour = 'none';
  /** The token the server accepts; undefined accepts anything (the read-only port). */
  token: string | undefined;
  podRequests = 0;
  readonly authorizations: Array<string | undefined> = [];
  /** Delays the /pods answer, in ms. */
  delayMs = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(options: { tls?: TestCert; token?: string } = {}): Promise<FakeKubelet> {
    const holder: { fake?: FakeKubelet } = {};
    const handler = (req: IncomingMessage, res: ServerResponse): void => holder.fake?.handle(req, res);
    const server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createHttpServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const fake = new FakeKubelet(server, `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`);
    fake.token = options.token;
    holder.fake = fake;
    return fake;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const auth = req.headers.authorization;
    const path = (req.url ?? '').split('?')[0];
    if (path === '/pods') {
      this.podRequests++;
      this.authorizations.push(auth);
    }
    if (this.token !== undefined && auth !== `Bearer ${this.token}`) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized');
    if (this.misbehave === 'forbidden') return void res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden (user=system:serviceaccount:x:y, verb=get, resource=nodes, subresource=proxy)');
    if (path === '/healthz') return void res.writeHead(200).end('ok');
    if (path !== '/pods') return void res.writeHead(404).end('404 page not found');
    const answer = (): void => {
      switch (this.misbehave) {
        case 'hang':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write(this.body.slice(0, 10));
          return;
        case 'status-500':
          return void res.writeHead(500).end('internal error');
        case 'garbage':
          return void res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not json</html>');
        case 'not-a-podlist':
          return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Status","items":"nope"}');
        case 'truncated':
          return void res.writeHead(200, { 'content-type': 'application/json' }).end(this.body.slice(0, Math.floor(this.body.length / 2)));
        default:
          res.writeHead(200, { 'content-type': 'application/json' }).end(this.body);
      }
    };
    if (this.delayMs > 0) setTimeout(answer, this.delayMs);
    else answer();
  }
}
