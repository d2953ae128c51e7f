/**
 * YAML parsing for config files, loaded at the first file read: most CLI runs read no file (the
 * socket and token come from the environment), and the parser is a third of the config's load
 * time (bench `cli.tag`). `yaml` ships CommonJS, so a synchronous require keeps loadConfig sync.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

type YamlModule = typeof Yaml;

let yaml: YamlModule | undefined;

export function parseYaml(text: string): unknown {
  yaml ??= createRequire(import.meta.url)('yaml') as YamlModule;
  return yaml.parse(text);
}
