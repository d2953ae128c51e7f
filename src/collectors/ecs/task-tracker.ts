/**
 * Which containers each ECS task entity stands for, so the task can end with them. ECS is
 * fetch-only and the runtime collector (Docker) deletes containers: a sweep asks the store, and a
 * task whose containers were all seen and are all gone is over. Bounded: past `max` tasks the
 * oldest is forgotten (its entity then lives until the daemon restarts, as every one did before).
 */
import { boundedCache } from '../../bounded-cache.js';
import type { EntityId } from '../../types.js';

interface Tracked {
  readonly containers: readonly EntityId[];
  /** Set once a sweep found one of its containers in the store (a fetch's push may lag it). */
  seen: boolean;
}

export class TaskTracker {
  private readonly tasks;

  constructor(max: number) {
    this.tasks = boundedCache<EntityId, Tracked>({ max });
  }

  get size(): number {
    return this.tasks.size;
  }

  /** A task found with these containers (again: its list is replaced, it counts as new). */
  record(task: EntityId, containers: readonly EntityId[]): void {
    const seen = this.tasks.get(task)?.seen ?? false;
    this.tasks.set(task, { containers, seen });
  }

  /** The tasks that are over (all containers gone after one was seen); they are forgotten here. */
  sweep(has: (entity: EntityId) => boolean): Array<{ task: EntityId; containers: readonly EntityId[] }> {
    const ended: Array<{ task: EntityId; containers: readonly EntityId[] }> = [];
    // Oldest first, as recorded; a copy, since the loop deletes (iterating leaves the order as it was).
    for (const task of [...this.tasks.rkeys()]) {
      const tracked = this.tasks.peek(task);
      if (!tracked) continue;
      const present = tracked.containers.some((c) => has(c));
      if (present) tracked.seen = true;
      else if (tracked.seen) {
        ended.push({ task, containers: tracked.containers });
        this.tasks.delete(task);
      }
    }
    return ended;
  }
}
