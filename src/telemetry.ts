/**
 * What a component hands the /metrics registry: a function that registers its own metrics, each
 * read from the component's counters at scrape time through a collect() callback (the Datadog
 * Agent keeps telemetry beside each component the same way, comp/core/tagger/telemetry). The hot
 * paths only bump plain numbers; the registry that renders them (ipc/metrics.ts) knows no
 * component's counters, only this.
 */
import type { Registry } from 'prom-client';

export type MetricSource = (registry: Registry) => void;

/** The two labels packed into a counter key (`docker:found`, `/v1/tags 200`), '' when absent. */
export function splitKey(key: string, separator: string): [string, string] {
  const [first = '', second = ''] = key.split(separator);
  return [first, second];
}
