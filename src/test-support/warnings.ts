/**
 * Collects the names of the process warnings emitted while a test runs (MaxListenersExceededWarning
 * and the like), for tests that a burst of work must not trip one.
 */
export interface WarningCollector {
  /** Waits for warnings still on their way (Node emits them on a later tick), stops, and returns their names. */
  stop(): Promise<string[]>;
}

export function collectWarnings(): WarningCollector {
  const names: string[] = [];
  const onWarning = (warning: Error): void => {
    names.push(warning.name);
  };
  process.on('warning', onWarning);
  return {
    async stop() {
      await new Promise((resolve) => setImmediate(resolve));
      process.off('warning', onWarning);
      return names;
    },
  };
}
