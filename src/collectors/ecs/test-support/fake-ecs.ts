/**
 * A fake ECS endpoint for tests (agent introspection or task metadata): plain HTTP on 127.0.0.1,
 * an ephemeral port, answering each `path?query` from a table the test fills, and counting hits.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveFake, type ServedFake } from '../../../test-support/serve-fake.js';

export type FakeAnswer = { readonly status?: number; readonly body: string } | 'hang' | 'truncate';

export class FakeEcsEndpoint {
  /** Exact `path` or `path?query` -> answer; anything else gets 404 (as the agent does for an unknown dockerid). */
  readonly routes = new Map<string, FakeAnswer>();
  readonly hits = new Map<string, number>();

  private constructor(
    private readonly served: ServedFake,
    readonly url: string,
  ) {}

  static async start(basePath = ''): Promise<FakeEcsEndpoint> {
    const holder: { fake?: FakeEcsEndpoint } = {};
    const served = await serveFake((req, res) => holder.fake?.handle(req, res));
    const fake = new FakeEcsEndpoint(served, `${served.url}${basePath}`);
    holder.fake = fake;
    return fake;
  }

  /** Serves `body` (a JSON text) with status 200 at `path`. */
  json(path: string, body: string, status = 200): this {
    this.routes.set(path, { status, body });
    return this;
  }

  count(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  get total(): number {
    let n = 0;
    for (const v of this.hits.values()) n += v;
    return n;
  }

  async close(): Promise<void> {
    await this.served.close();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    this.hits.set(url, (this.hits.get(url) ?? 0) + 1);
    const answer = this.routes.get(url);
    if (answer === undefined) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
    if (answer === 'hang') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"Cluster":');
      return;
    }
    if (answer === 'truncate') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"Cluster":"default","TaskARN":"arn:aws:ecs:us-west');
    res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' }).end(answer.body);
  }
}
