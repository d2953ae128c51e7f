/**
 * Typed errors. Callers branch on `code`, never on the message (as undici's UND_ERR_* codes).
 * Each error carries the context a log line needs.
 */

export type TaggerErrorCode =
  | 'TAGGER_INVALID_ENTITY'
  | 'TAGGER_INVALID_CARDINALITY'
  | 'TAGGER_INVALID_ORIGIN'
  | 'TAGGER_INVALID_CONFIG'
  | 'TAGGER_BAD_REQUEST'
  | 'TAGGER_AUTH_TOKEN'
  | 'TAGGER_NOT_INITIALIZED'
  | 'TAGGER_NOT_FOUND'
  | 'TAGGER_SOCKET'
  | 'TAGGER_HTTP_STATUS'
  | 'TAGGER_DECODE'
  | 'TAGGER_TIMEOUT'
  | 'TAGGER_ABORTED'
  | 'TAGGER_PERMANENT'
  | 'TAGGER_UNAVAILABLE';

export class TaggerError extends Error {
  readonly code: TaggerErrorCode;
  constructor(code: TaggerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class InvalidEntityError extends TaggerError {
  constructor(readonly input: string, reason: string) {
    super('TAGGER_INVALID_ENTITY', `invalid entity ID ${JSON.stringify(truncate(input))}: ${reason}`);
  }
}

export class InvalidCardinalityError extends TaggerError {
  constructor(readonly input: unknown) {
    super('TAGGER_INVALID_CARDINALITY', `invalid cardinality ${JSON.stringify(truncate(String(input)))}: expected low, orchestrator or high`);
  }
}

/** An origin (`/v1/origin`, `resolveOrigin`) that is malformed or not exactly one form; names the parameter. */
export class InvalidOriginError extends TaggerError {
  constructor(
    readonly parameter: string,
    reason: string,
  ) {
    super('TAGGER_INVALID_ORIGIN', `invalid ${parameter}: ${reason}`);
  }
}

export class ConfigError extends TaggerError {
  constructor(readonly key: string, reason: string) {
    super('TAGGER_INVALID_CONFIG', `invalid config ${key}: ${reason}`);
  }
}

/** A request parameter the client got wrong (the HTTP API answers it 400); `parameter` names it. */
export class BadRequestError extends TaggerError {
  constructor(readonly parameter: string, message: string) {
    super('TAGGER_BAD_REQUEST', message);
  }
}

/** The IPC auth token file cannot be created or read, or holds no token. */
export class AuthTokenError extends TaggerError {
  constructor(readonly file: string, reason: string) {
    super('TAGGER_AUTH_TOKEN', `auth token file ${file}: ${reason}`);
  }
}

/** The default tagger was used before init(). */
export class NotInitializedError extends TaggerError {
  constructor(what: string) {
    super('TAGGER_NOT_INITIALIZED', `tagger: call init() before ${what}`);
  }
}

export class NotFoundError extends TaggerError {
  constructor(readonly what: string) {
    super('TAGGER_NOT_FOUND', `${what} not found`);
  }
}

export class SocketError extends TaggerError {
  constructor(readonly target: string, options?: { cause?: unknown }) {
    super('TAGGER_SOCKET', `cannot reach ${target}: ${causeMessage(options?.cause)}`, options);
  }
}

export class HttpStatusError extends TaggerError {
  constructor(
    readonly status: number,
    readonly url: string,
    readonly body: string,
  ) {
    super('TAGGER_HTTP_STATUS', `${url}: HTTP ${status}${body ? `: ${truncate(body, 200)}` : ''}`);
  }
}

export class DecodeError extends TaggerError {
  constructor(readonly what: string, options?: { cause?: unknown }) {
    super('TAGGER_DECODE', `cannot decode ${what}: ${causeMessage(options?.cause)}`, options);
  }
}

export class TimeoutError extends TaggerError {
  constructor(readonly what: string, readonly timeoutMs: number) {
    super('TAGGER_TIMEOUT', `${what} timed out after ${timeoutMs} ms`);
  }
}

export class AbortedError extends TaggerError {
  constructor(what: string) {
    super('TAGGER_ABORTED', `${what} aborted`);
  }
}

/** Tells the backoff helper to stop retrying at once: retrying cannot help. */
export class PermanentError extends TaggerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TAGGER_PERMANENT', message, options);
  }
}

export function isTaggerError(err: unknown, code?: TaggerErrorCode): err is TaggerError {
  return err instanceof TaggerError && (code === undefined || err.code === code);
}

/**
 * Whether an error (or one of its causes) says a source is there but refuses us: EACCES or EPERM
 * on its socket or file, or HTTP 401/403. Health reports that as a failure to fix, never as an
 * absent source.
 */
export function isAccessDenied(error: unknown): boolean {
  let current = error;
  for (let depth = 0; current instanceof Error && depth < 8; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === 'EACCES' || code === 'EPERM') return true;
    if (current instanceof HttpStatusError && (current.status === 401 || current.status === 403)) return true;
    current = current.cause;
  }
  return false;
}

/** A one-line message for any thrown value, for logs and health reasons. */
export function causeMessage(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message;
  }
  return cause === undefined ? 'unknown error' : String(cause);
}

function truncate(s: string, max = 100): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
