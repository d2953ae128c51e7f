/**
 * What a collector module gives the registry: how to read its toggle from the config, and how to
 * build it. Apart from registry.ts, so each collector's factory.ts imports these types without
 * importing the registry that imports it.
 */
import type { Clock } from '../clock.js';
import type { TaggerConfig, Toggle } from '../config.js';
import type { Logger } from '../logger.js';
import type { Collector } from './collector.js';

export interface CollectorDeps {
  readonly config: TaggerConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
}

export interface CollectorFactory {
  readonly name: string;
  readonly enabled: (config: TaggerConfig) => Toggle;
  /** `autodetect` is true for `enabled: auto`: the collector must then offer detect(). */
  readonly create: (deps: CollectorDeps, autodetect: boolean) => Collector;
}
