/**
 * Readers for untrusted JSON payloads (Docker's Engine API, kubelet pods, ECS metadata): each
 * tolerates a missing, null or wrongly typed field by answering "nothing" instead of throwing, so
 * one odd field never costs the rest of a payload. Each name says what "nothing" is and whether
 * the value is trimmed: pick the one whose meaning the field needs.
 */

/** A JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The value if it is a JSON object, else an empty one (to read fields of a maybe-object). */
export function recordOf(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
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

/** The string-valued entries of an object as an object (labels, attributes); null gives {}. */
export function stringRecord(value: unknown): Record<string, string> {
  return Object.fromEntries(stringEntries(value));
}

/** The string items of an array (names, env); others are dropped; not an array gives []. */
export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** A string as it is, the empty one included; undefined for anything else. */
export function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A string as it is, the empty one included; '' for anything else (a field every record has). */
export function stringOrEmpty(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** A non-empty string as it is (not trimmed: Kubernetes names have no spaces); undefined otherwise. */
export function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * A string trimmed, or a finite number as its decimal text (ECS sends `Revision` as either);
 * undefined for a blank string and anything else.
 */
export function trimmedTextOrNumber(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}
