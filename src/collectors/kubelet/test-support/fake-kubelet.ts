/**
 * A fake kubelet for tests: HTTPS (a certificate from src/test-support/certs.ts, made at test
 * time) or plain HTTP on 127.0.0.1, an ephemeral port. It checks the bearer token and serves whatever body the
 * test sets, or misbehaves on demand (status, garbage, truncation, a hang).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TestCert } from '../../../test-support/certs.js';
import { serveFake, type ServedFake } from '../../../test-support/serve-fake.js';

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

  readonly url: string;

  private constructor(private readonly served: ServedFake) {
    this.url = served.url;
  }

  static async start(options: { tls?: TestCert; token?: string } = {}): Promise<FakeKubelet> {
    const holder: { fake?: FakeKubelet } = {};
    const fake = new FakeKubelet(await serveFake((req, res) => holder.fake?.handle(req, res), options));
    fake.token = options.token;
    holder.fake = fake;
    return fake;
  }

  async close(): Promise<void> {
    await this.served.close();
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
