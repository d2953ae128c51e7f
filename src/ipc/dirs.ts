/**
 * The folders of the socket and the token file. Created 0750: the socket's group (mode 0660) must
 * be able to reach it, and the token stays unreadable to them by its own 0600. A folder that
 * already exists keeps its mode: it is the operator's.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export const RUN_DIR_MODE = 0o750;

/** mkdir -p `dir`; the folders it creates get exactly `mode` (mkdir's own mode is cut by the umask). */
export function makeDirs(dir: string, mode = RUN_DIR_MODE): void {
  const first = mkdirSync(dir, { recursive: true, mode });
  if (first === undefined) return;
  for (let d = dir; ; d = dirname(d)) {
    chmodSync(d, mode);
    if (d === first || dirname(d) === d) break;
  }
}
