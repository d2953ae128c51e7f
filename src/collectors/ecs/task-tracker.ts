/**
 * Which containers each ECS task entity stands for, so the task can end with them. ECS is
 * fetch-only and the runtime collector (Docker) deletes containers: a sweep asks the store, and a
 * task whose containers were all seen and are all gone is over. Bounded: past `max` tasks the
 * oldest is forgotten (its entity then lives until the daemon restarts, as every one did before).
 */
import type { EntityId } from '../../types.js';

interface Tracked {
  readonly containers: readonly EntityId[];
  /** Set once a sweep found one of its containers in the store (a fetch's push may lag it). */
  seen: boolean;
}

export class TaskTracker {
  private readonly tasks = new Map<EntityId, Tracked>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.tasks.size;
  }

  /** A task found with these containers (again: its list is replaced, it counts as new). */
  record(task: EntityId, containers: readonly EntityId[]): void {
    const seen = this.tasks.get(task)?.seen ?? false;
    this.tasks.delete(task);
    this.tasks.set(task, { containers, seen });
    for (const oldest of this.tasks.keys()) {
      if (this.tasks.size <= this.max) break;
      this.tasks.delete(oldest);
    }
  }

  /** The tasks that are over (all containers gone after one was seen); they are forgotten here. */
  sweep(has: (entity: EntityId) => boolean): Array<{ task: EntityId; containers: readonly EntityId[] }> {
    const ended: Array<{ task: EntityId; containers: readonly EntityId[] }> = [];
    for (const [task, tracked] of this.tasks) {
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
