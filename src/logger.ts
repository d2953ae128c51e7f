/**
 * Structured logs: pino JSON lines on stderr. Collectors take a Logger so tests can pass a
 * silent or recording one. Fields that could hold secrets are redacted by name, and callers
 * never log env values or tokens in the first place.
 */
import { pino } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

type LogFn = (obj: Record<string, unknown> | string, msg?: string) => void;

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

export function createLogger(options: { level?: LogLevel; destination?: number | NodeJS.WritableStream } = {}): Logger {
  const destination = options.destination ?? 2;
  return pino(
    {
      level: options.level ?? 'info',
      base: { name: 'tagger' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['token', 'authorization', '*.token', '*.authorization', 'headers.authorization', 'env', '*.env'], censor: '[redacted]' },
    },
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination,
  ) as unknown as Logger;
}

const noop: LogFn = () => undefined;

/** A logger that drops everything (library default: a library should not write to stderr). */
export const silentLogger: Logger = Object.freeze({
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
});
