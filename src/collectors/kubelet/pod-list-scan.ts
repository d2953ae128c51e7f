/**
 * Cuts a kubelet `GET /pods` body (a v1 PodList) into the raw bytes of each element of its
 * top-level `items` array, without building the JSON tree.
 *
 * Why: on a node with thousands of pods the body is megabytes, and nearly every poll repeats the
 * last one. Parsing it all (and collecting the tree) cost the daemon 2.5x a bare JSON.parse per
 * poll. The kubelet writes each pod the same way every time, but in a different order (it walks
 * a Go map), so the body as a whole rarely repeats while each pod's bytes do. The collector
 * hashes each item's bytes and parses only the items it has not seen.
 *
 * Soundness: every byte of the body is either punctuation this scanner checks, a top-level key or
 * value outside `items` (JSON.parse'd here, they are small), or inside an item, which the
 * collector either parses or finds byte-identical to an item that parsed before. So a body this
 * accepts is valid JSON whenever the items it returns are. Anything unexpected (a duplicate
 * `items`, an item that is not an object, trailing bytes) returns undefined, and the caller
 * falls back to JSON.parse of the whole body, which gives the usual result or DecodeError.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** The items' bytes (views into `body`, no copy), or undefined when the body needs a full parse. */
export function scanPodList(body: Uint8Array): Uint8Array[] | undefined {
  const end = body.length;
  let items: Uint8Array[] | undefined;
  let i = skipSpace(body, 0);
  if (body[i] !== OPEN_BRACE) return undefined;
  i = skipSpace(body, i + 1);
  // `{}` has no items: a malformed PodList, for the full parse to report.
  if (body[i] === CLOSE_BRACE) return undefined;
  for (;;) {
    if (body[i] !== QUOTE) return undefined;
    const keyEnd = stringEnd(body, i);
    if (keyEnd < 0) return undefined;
    const key = parseJson(body.subarray(i, keyEnd));
    if (typeof key !== 'string') return undefined;
    i = skipSpace(body, keyEnd);
    if (body[i] !== COLON) return undefined;
    i = skipSpace(body, i + 1);
    if (key === 'items') {
      if (items !== undefined) return undefined;
      const cut = cutItems(body, i);
      if (cut === undefined) return undefined;
      items = cut.items;
      i = cut.next;
    } else {
      const valueEnd = valueEndAt(body, i);
      if (valueEnd < 0 || parseJson(body.subarray(i, valueEnd)) === INVALID) return undefined;
      i = valueEnd;
    }
    i = skipSpace(body, i);
    if (body[i] === COMMA) {
      i = skipSpace(body, i + 1);
      continue;
    }
    if (body[i] !== CLOSE_BRACE || trailing(body, i + 1) || i >= end) return undefined;
    // No `items` at all is a malformed PodList: let the full parse say so.
    return items;
  }
}

/** `items` is an array of objects (or null, as some kubelets send for none). */
function cutItems(body: Uint8Array, start: number): { items: Uint8Array[]; next: number } | undefined {
  if (isNull(body, start)) return { items: [], next: start + 4 };
  if (body[start] !== OPEN_BRACKET) return undefined;
  const items: Uint8Array[] = [];
  let i = skipSpace(body, start + 1);
  if (body[i] === CLOSE_BRACKET) return { items, next: i + 1 };
  for (;;) {
    if (body[i] !== OPEN_BRACE) return undefined;
    const itemEnd = valueEndAt(body, i);
    if (itemEnd < 0) return undefined;
    items.push(body.subarray(i, itemEnd));
    i = skipSpace(body, itemEnd);
    if (body[i] === COMMA) {
      i = skipSpace(body, i + 1);
      continue;
    }
    if (body[i] !== CLOSE_BRACKET) return undefined;
    return { items, next: i + 1 };
  }
}

/** Bytes that matter to bracket counting: 1 a quote, 2 an opening bracket, 3 a closing one. */
const BYTE_CLASS = new Uint8Array(256);
BYTE_CLASS[QUOTE] = 1;
BYTE_CLASS[OPEN_BRACE] = 2;
BYTE_CLASS[OPEN_BRACKET] = 2;
BYTE_CLASS[CLOSE_BRACE] = 3;
BYTE_CLASS[CLOSE_BRACKET] = 3;

/**
 * Index just past the value starting at `start`: a string, an object or array (brackets counted,
 * strings skipped; their content is checked by whoever parses the bytes), or a scalar.
 * -1 when the body ends first. This loop is the whole cost of an unchanged poll: one table load
 * per byte outside strings, and strings skipped by indexOf (memchr), measured 2x faster than
 * comparing each byte (10 vs 25 ms for a 1,000-pod, 5.4 MB body).
 */
function valueEndAt(body: Uint8Array, start: number): number {
  const first = body[start];
  if (first === QUOTE) return stringEnd(body, start);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) return scalarEnd(body, start);
  const end = body.length;
  let depth = 0;
  let i = start;
  while (i < end) {
    const kind = BYTE_CLASS[body[i] as number];
    if (kind === 0) {
      i++;
    } else if (kind === 1) {
      i = stringEnd(body, i);
      if (i < 0) return -1;
    } else if (kind === 2) {
      depth++;
      i++;
    } else {
      depth--;
      i++;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Index just past the closing quote of the string opening at `start`, or -1. */
function stringEnd(body: Uint8Array, start: number): number {
  let quote = start;
  for (;;) {
    quote = body.indexOf(QUOTE, quote + 1);
    if (quote < 0) return -1;
    // Escaped when an odd number of backslashes precede it (the opening quote stops the walk).
    let before = quote - 1;
    while (body[before] === BACKSLASH) before--;
    if ((quote - 1 - before) % 2 === 0) return quote + 1;
  }
}

/** A number, true, false or null runs until a delimiter; JSON.parse checks its spelling. */
function scalarEnd(body: Uint8Array, start: number): number {
  let i = start;
  while (i < body.length) {
    const c = body[i];
    if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isSpace(c)) break;
    i++;
  }
  return i === start ? -1 : i;
}

function isNull(body: Uint8Array, i: number): boolean {
  return body[i] === 0x6e && body[i + 1] === 0x75 && body[i + 2] === 0x6c && body[i + 3] === 0x6c && !isWordByte(body[i + 4]);
}

function isWordByte(c: number | undefined): boolean {
  return c !== undefined && c !== COMMA && c !== CLOSE_BRACE && c !== CLOSE_BRACKET && !isSpace(c);
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(body: Uint8Array, start: number): number {
  let i = start;
  while (isSpace(body[i])) i++;
  return i;
}

/** Anything but white space after the closing brace. */
function trailing(body: Uint8Array, start: number): boolean {
  return skipSpace(body, start) !== body.length;
}

const INVALID = Symbol('invalid JSON');
const decoder = new TextDecoder();

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch {
    return INVALID;
  }
}
