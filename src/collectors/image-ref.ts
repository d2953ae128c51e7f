/**
 * Image references as runtimes report them (`nginx`, `localhost:5000/team/app:1.2@sha256:…`,
 * Podman's `localhost/busybox:latest`), split into the parts the image tags need. Pure and
 * shared by every runtime collector (Docker, containerd, kubelet), so the four image tags are
 * computed one way everywhere.
 */
import { Runtime } from '../tags.js';
import type { TagList } from '../taglist.js';

export interface ImageRef {
  /** The reference as given, for `docker_image`. */
  readonly raw: string;
  /** Repository with its registry host, without tag or digest (`gcr.io/team/app`). */
  readonly name: string;
  /** The registry host (`gcr.io`, `localhost:5000`, `localhost`), when the reference names one. */
  readonly registry?: string;
  /** The last path component (`app`). */
  readonly shortName: string;
  readonly tag?: string;
  /** `sha256:…` after an `@`. */
  readonly digest?: string;
}

const IMAGE_ID = /^(sha256:)?[0-9a-f]{64}$/;

/**
 * True for an image ID rather than a name: `sha256:<64 hex>` or 64 bare hex. Docker reports one
 * in Config.Image when a container was created from an ID; it then has no name to tag with.
 */
export function isImageId(ref: string): boolean {
  return IMAGE_ID.test(ref.trim().toLowerCase());
}

/** Splits a reference; undefined for an empty string or an image ID. */
export function parseImageRef(input: string): ImageRef | undefined {
  const raw = input.trim();
  if (raw === '' || isImageId(raw)) return undefined;
  let rest = raw;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1) || undefined;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  // A colon is a tag separator only after the last slash; before it, it is a registry port.
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1) || undefined;
    rest = rest.slice(0, colon);
  }
  if (rest === '') return undefined;
  const slash = rest.indexOf('/');
  let registry: string | undefined;
  if (slash > 0) {
    const first = rest.slice(0, slash);
    // Docker's rule: the first component is a host when it has a dot or a port, or is localhost.
    if (first.includes('.') || first.includes(':') || first === 'localhost') registry = first;
  }
  const shortName = rest.slice(rest.lastIndexOf('/') + 1);
  if (shortName === '') return undefined;
  return { raw, name: rest, shortName, ...(registry ? { registry } : {}), ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/**
 * Adds `docker_image`, `image_name`, `short_image` and `image_tag` (low). An untagged reference
 * gets `image_tag:latest`, as Docker and Kubernetes resolve it; a digest-pinned one without a tag
 * gets no image_tag, since no tag was ever chosen. Returns false (adding nothing) for an image ID.
 * `dockerImage: false` leaves out `docker_image` (the kubelet's tags have none).
 */
export function addImageTags(list: TagList, ref: string | undefined | null, options: { dockerImage?: boolean } = {}): boolean {
  if (!ref) return false;
  const parsed = parseImageRef(ref);
  if (!parsed) return false;
  if (options.dockerImage !== false) list.addLow(Runtime.dockerImage, parsed.raw);
  list.addLow(Runtime.imageName, parsed.name);
  list.addLow(Runtime.shortImage, parsed.shortName);
  list.addLow(Runtime.imageTag, parsed.tag ?? (parsed.digest ? undefined : 'latest'));
  return true;
}
