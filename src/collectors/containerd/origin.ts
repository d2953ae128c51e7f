/**
 * What origin detection needs of a containerd container, pure: the init PID of its running task,
 * whose cgroup gives the inode DogStatsD clients send. containerd knows no addresses (CNI gives
 * them to the pod sandbox; the kubelet collector reports the pod's).
 */
import type { OriginFacts } from '../../origin/types.js';

export function containerdOrigin(initPid: number | undefined): OriginFacts | undefined {
  return initPid !== undefined && Number.isSafeInteger(initPid) && initPid > 0 ? { pid: initPid } : undefined;
}
