/**
 * One abort listener per signal, however many operations wait on it. A collector's lifetime
 * signal is shared by every request it makes: a listener per request in flight, and per request
 * queued for a connection, tripped Node's MaxListenersExceededWarning as soon as a Docker resync
 * had a few more than ten inspects going (the daemon printed it at startup on a host with fifteen
 * containers), and made every removal a walk of the signal's listener list. Through this the
 * signal carries a single listener, and each operation is a Set entry (constant time to add and
 * remove); the listener goes once the last operation unsubscribes.
 */

interface Fanout {
  readonly listeners: Set<() => void>;
  readonly dispatch: () => void;
}

const fanouts = new WeakMap<AbortSignal, Fanout>();

const nothingToUndo = (): void => undefined;

/**
 * Calls `listener` once when `signal` aborts; returns the function that unsubscribes it. As with
 * addEventListener, a signal that has already aborted never calls it: callers check `aborted`
 * first.
 */
export function subscribeAbort(signal: AbortSignal, listener: () => void): () => void {
  if (signal.aborted) return nothingToUndo;
  let fanout = fanouts.get(signal);
  if (fanout === undefined) {
    const listeners = new Set<() => void>();
    const dispatch = (): void => {
      fanouts.delete(signal);
      // A copy: a listener may unsubscribe others while they are called.
      for (const each of [...listeners]) {
        if (!listeners.has(each)) continue;
        listeners.delete(each);
        try {
          each();
        } catch (error) {
          // As EventTarget does: one failing listener neither stops the others nor is swallowed.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    };
    fanout = { listeners, dispatch };
    fanouts.set(signal, fanout);
    signal.addEventListener('abort', dispatch, { once: true });
  }
  // A wrapper per subscription: the same function subscribed twice is two subscriptions.
  const entry = (): void => listener();
  const subscribed = fanout;
  subscribed.listeners.add(entry);
  return () => {
    if (!subscribed.listeners.delete(entry) || subscribed.listeners.size > 0) return;
    if (fanouts.get(signal) === subscribed) fanouts.delete(signal);
    signal.removeEventListener('abort', subscribed.dispatch);
  };
}
