/**
 * `tagger status [--json]`: the daemon's state as `agent status` shows its tagger (version, mode,
 * uptime, each collector with its last sync and recent errors, entity counts, fetch and IPC
 * counters), from GET /v1/status. Exit 0 when healthy; 1 when not (one line on stderr naming the
 * unhealthy collectors) or unreachable.
 */
import type { Command } from 'commander';
import type { StatusBody } from '../ipc/status.js';
import { CliError, EXIT_RUNTIME, configOf, withClient, withConfigOption, type CliCommand, type CliIo } from './common.js';

export const statusCommand: CliCommand = {
  register(program: Command, io: CliIo): void {
    withConfigOption(program.command('status'))
      .description("the daemon's state, as `agent status` shows its tagger; exit 1 when unhealthy or unreachable")
      .option('--json', 'print the /v1/status JSON')
      .action(async (opts: { json?: boolean }, cmd: Command) => {
        const body = await withClient(configOf(cmd), io, (client) => client.status());
        io.stdout(opts.json ? `${JSON.stringify(body, null, 2)}\n` : formatStatus(body));
        if (!body.healthy) {
          const failing = Object.entries(body.collectors).filter(([, c]) => !c.healthy).map(([name, c]) => `${name}: ${c.message}`);
          throw new CliError(`unhealthy: ${failing.join('; ') || 'see above'}`, EXIT_RUNTIME);
        }
      });
  },
};

export function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3_600);
  const m = Math.floor((seconds % 3_600) / 60);
  const s = seconds % 60;
  return `${d > 0 ? `${d}d ` : ''}${d > 0 || h > 0 ? `${h}h ` : ''}${d > 0 || h > 0 || m > 0 ? `${m}m ` : ''}${s}s`;
}

/** `2026-12-03T09:00:00.000Z (12s ago)`, or `never`. */
function ago(iso: string | null, now: number): string {
  if (iso === null) return 'never';
  return `${iso} (${formatUptime(Math.max(0, Math.round((now - Date.parse(iso)) / 1000)))} ago)`;
}

/** Sections and indentation as the Agent's status page lays out its components. */
export function formatStatus(body: StatusBody, now = Date.now()): string {
  const lines: string[] = [];
  const section = (title: string): void => {
    lines.push('', `  ${title}`, `  ${'-'.repeat(title.length)}`);
  };
  const counts = (values: Record<string, number>): void => {
    const keys = Object.keys(values).sort();
    if (keys.length === 0) lines.push('    (none)');
    for (const key of keys) lines.push(`    ${key}: ${values[key]}`);
  };
  lines.push('Tagger', '======', '');
  lines.push(`  Version: ${body.version}`, `  Mode: ${body.mode}`, `  PID: ${body.pid}`);
  lines.push(`  Started: ${body.started_at} (uptime ${formatUptime(body.uptime_seconds)})`);
  lines.push(`  Status: ${body.healthy ? 'healthy' : 'UNHEALTHY'}`);
  section('Collectors');
  const names = Object.keys(body.collectors).sort();
  if (names.length === 0) lines.push('    (none)');
  for (const name of names) {
    const c = body.collectors[name];
    if (!c) continue;
    lines.push(`    ${name}`, `      State: ${c.state}`, `      Health: ${c.healthy ? 'ok' : 'unhealthy'}: ${c.message}`);
    lines.push(`      Last sync: ${ago(c.last_sync, now)}`, `      Last update: ${ago(c.last_update, now)}`, `      Errors: ${c.errors}`);
    if (c.recent_errors.length > 0) lines.push('      Recent errors:');
    for (const e of c.recent_errors) lines.push(`        ${e.time} ${e.message}${e.count > 1 ? ` (x${e.count})` : ''}`);
  }
  section('Entities');
  lines.push(`    Total: ${body.entities.total}`, `    Pending deletes: ${body.entities.pending_deletes}`, `    Tombstones: ${body.entities.tombstones}`);
  lines.push('    By kind:');
  for (const [kind, n] of Object.entries(body.entities.by_kind).sort()) lines.push(`      ${kind}: ${n}`);
  lines.push('    By source:');
  for (const [source, kinds] of Object.entries(body.entities.by_source).sort()) {
    lines.push(`      ${source}: ${Object.entries(kinds).sort().map(([kind, n]) => `${kind} ${n}`).join(', ')}`);
  }
  section('Queries');
  counts(body.queries);
  section('Fetches');
  counts(body.fetches);
  section('IPC');
  lines.push(`    Active streams: ${body.ipc.active_streams}`, `    Stream subscribers: ${body.ipc.stream_subscribers}`, `    Stream drops: ${body.ipc.stream_drops}`, `    Auth failures: ${body.ipc.auth_failures}`);
  lines.push('    Requests:');
  for (const [key, n] of Object.entries(body.ipc.requests).sort()) lines.push(`      ${key}: ${n}`);
  return `${lines.join('\n')}\n`;
}
