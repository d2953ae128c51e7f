/**
 * The fan-out bench's handle on its subscriber process (fanout-subscribers.ts): fork, typed
 * request/answer over the fork channel, clock alignment, and a bounded stop.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nowMs, type FromChild, type ToChild } from './fanout-shared.js';

export class Child {
  private readonly waiting: Array<{ type: FromChild['type']; resolve: (m: FromChild) => void }> = [];
  private failure: Error | undefined;
  readonly process: ChildProcess;

  constructor() {
    const script = fileURLToPath(new URL('./fanout-subscribers.js', import.meta.url));
    // Its stdout would corrupt the bench's JSON document: only stderr is passed through.
    this.process = fork(script, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.process.on('message', (raw) => {
      const message = raw as FromChild;
      if (message.type === 'failed') this.fail(new Error(`subscriber process: ${message.message}`));
      const index = this.waiting.findIndex((w) => w.type === message.type);
      if (index >= 0) this.waiting.splice(index, 1)[0]?.resolve(message);
    });
    this.process.on('exit', (code) => this.fail(new Error(`subscriber process exited (${code})`)));
  }

  send(message: ToChild): void {
    this.process.send(message);
  }

  /** The next message of `type`, failing after `timeoutMs` or when the child fails. */
  next<T extends FromChild['type']>(type: T, timeoutMs: number): Promise<Extract<FromChild, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} from the subscriber process in ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          if (m.type === 'failed') reject(this.failure);
          else resolve(m as Extract<FromChild, { type: T }>);
        },
      });
    });
  }

  /** Child clock minus ours, from the ping with the shortest round trip (error <= rtt/2). */
  async clockOffset(): Promise<{ offsetMs: number; rttMs: number }> {
    let best = { offsetMs: 0, rttMs: Infinity };
    for (let i = 0; i < 30; i++) {
      const t = nowMs();
      const pong = this.next('pong', 5_000);
      this.send({ type: 'ping', t });
      const reply = await pong;
      const back = nowMs();
      if (back - t < best.rttMs) best = { offsetMs: reply.childT - (t + back) / 2, rttMs: back - t };
    }
    return best;
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    if (this.process.connected) this.send({ type: 'exit' });
    const timer = setTimeout(() => this.process.kill(), 5_000);
    await exited;
    clearTimeout(timer);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const w of this.waiting.splice(0)) w.resolve({ type: 'failed', message: error.message });
  }
}
