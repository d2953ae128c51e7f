/**
 * Readers for untrusted JSON payloads (kubelet pods, ECS metadata): each tolerates a missing,
 * null or wrongly typed field by answering "nothing" instead of throwing, so one odd field never
 * costs the rest of a payload.
 */

/** A JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The value if it is an array, else an empty one. */
export function arrayOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The string-valued entries of an object (labels, annotations, tags); others are dropped. */
export function stringEntries(value: unknown): Array<[string, string]> {
  if (!isRecord(value)) return [];
  return Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string');
}
