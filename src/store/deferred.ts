/**
 * Entries kept encoded until first use. A replica's snapshot holds thousands of entities, most of
 * which its process never asks about: kept in their wire form, they cost their encoded size
 * instead of a decoded entry, and their decoding is paid only for those used. The store decides
 * when an entry must be decoded (see TagStore.defer); this holds them and decodes one.
 */
import type { EntityId, TagInfo } from '../types.js';

export interface DeferredDecoding {
  /** The source every deferred entry belongs to. */
  readonly source: string;
  /** Turns an encoded entry into its TagInfo (of `source`); throws when it is malformed. */
  decode(id: EntityId, encoded: string): TagInfo;
}

/** Told of an entry that does not decode, with the reason. */
export type OnUndecodable = (entry: { readonly entity: EntityId; readonly encoded: string }, reason: string) => void;

export class DeferredEntries {
  /** id -> encoded tags. */
  private readonly entries = new Map<EntityId, string>();

  constructor(
    private readonly decoding: DeferredDecoding | undefined,
    private readonly onUndecodable: OnUndecodable,
  ) {}

  /** The source of every entry (undefined when the store defers nothing). */
  get source(): string | undefined {
    return this.decoding?.source;
  }

  get size(): number {
    return this.entries.size;
  }

  has(id: EntityId): boolean {
    return this.entries.has(id);
  }

  keys(): IterableIterator<EntityId> {
    return this.entries.keys();
  }

  set(id: EntityId, encoded: string): void {
    this.entries.set(id, encoded);
  }

  delete(id: EntityId): boolean {
    return this.entries.delete(id);
  }

  /** Removes the entry of `id` and decodes it; undefined when there is none. */
  take(id: EntityId): TagInfo[] | undefined {
    const encoded = this.entries.get(id);
    if (encoded === undefined) return undefined;
    this.entries.delete(id);
    return this.decode(id, encoded);
  }

  /** [the TagInfo], or [] after telling onUndecodable. */
  decode(id: EntityId, encoded: string): TagInfo[] {
    if (!this.decoding) throw new Error('deferred entries need the store to be created with the deferred option');
    try {
      return [this.decoding.decode(id, encoded)];
    } catch (error) {
      this.onUndecodable({ entity: id, encoded: encoded.slice(0, 200) }, error instanceof Error ? error.message : String(error));
      return [];
    }
  }
}
