/**
 * What the Docker collector remembers of each container it has pushed: a fingerprint of what a
 * container list shows (name and labels), so a resync inspects only what is new or changed.
 */

/**
 * The fingerprint of a container known only from an event (its inspect has not succeeded yet):
 * equal to no real fingerprint, so a resync inspects it again if listed and deletes it if not.
 */
export const UNCONFIRMED = '';

/** The container's own name among Names (links add `/other/alias` entries). */
export function primaryName(names: readonly string[]): string {
  return names.find((n) => n.lastIndexOf('/') === 0) ?? names[0] ?? '';
}

export function fingerprint(name: string, labels: Readonly<Record<string, string>>): string {
  return JSON.stringify([name.startsWith('/') ? name : `/${name}`, Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
}
