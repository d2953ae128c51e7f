/**
 * Container events received while a resync's list is being applied. The collector subscribes
 * before it lists (so nothing between the two is lost), and holds what arrives until the list
 * is in the store. Some held events are older than the list, some newer, and the Date header
 * the list carries is whole seconds: too coarse to tell them apart. So a held event is not
 * applied as it says, but turned into a question to the daemon: only each container's last
 * relevant action is kept, and on release it becomes an inspect (what is true now), except a
 * removal, which is final (IDs are never reused), and the death of a container that neither the
 * list nor a start event made known (as live: a container seen only dying is never tagged).
 */
export type HeldAction = 'refresh' | 'died' | 'removed';

export class HeldEvents {
  /** Container ID -> its last relevant action, in the order of those last actions. */
  private readonly last = new Map<string, HeldAction>();

  add(id: string, action: HeldAction): void {
    this.last.delete(id);
    this.last.set(id, action);
  }

  has(id: string): boolean {
    return this.last.has(id);
  }

  get size(): number {
    return this.last.size;
  }

  /** Empties the buffer, returning what it held, oldest last action first. */
  drain(): Array<[string, HeldAction]> {
    const entries = [...this.last];
    this.last.clear();
    return entries;
  }
}
