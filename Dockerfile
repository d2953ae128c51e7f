# The tagger daemon's image: `docker build -t tagger .` (docs/deployment.md).
#
# Every FROM is ${NODE_IMAGE} or an earlier stage, and there is no `# syntax=` line, so the image
# builds with the classic builder, old BuildKit (Docker 20.10) and Podman alike, from any Node.js
# 20+ image that has node, npm and a /bin/sh (CI passes one made locally: scripts/image/base.sh).
ARG NODE_IMAGE=node:20-bookworm-slim

# 1. Build: all dependencies (TypeScript), then compile without source maps.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run tsc before the sources are here; the build is the next step.
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/finish-build.mjs scripts/
COPY src src
RUN npx tsc -p tsconfig.build.json --sourceMap false && node scripts/finish-build.mjs

# 2. Production dependencies only. `npm ci --omit=dev` would still run `prepare` (tsc, a dev
# dependency, absent here), hence --ignore-scripts; no production dependency needs an install script.
# --omit=optional too: TypeScript is an optional peer of valibot, so --omit=dev alone keeps it
# ("devOptional" in the lockfile, 23 MB); no production dependency needs an optional one.
FROM ${NODE_IMAGE} AS deps
WORKDIR /opt/tagger
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=warn && rm -rf /root/.npm \
  && find node_modules -name "*.map" -exec rm -f {} +

# 3. What ships: node, the compiled dist/, production node_modules, package.json (the CLI reads its
# version there). No TypeScript, vitest, eslint, tests or source maps.
FROM ${NODE_IMAGE}
WORKDIR /opt/tagger
COPY --from=deps /opt/tagger/node_modules node_modules
COPY --from=build /src/dist dist
COPY package.json ./
RUN ln -sf /opt/tagger/dist/cli/main.js /usr/local/bin/tagger
ENV NODE_ENV=production
# root, on purpose (docs/deployment.md, "Why root"): the contract's `docker run` mounts
# /var/run/docker.sock (root:docker 0660 on the host) and /var/run/tagger (which Docker creates as
# root 0755 when missing, so only root can write the socket and the 0600 token file there), and
# origin detection reads other users' /proc/<pid>/cgroup with --pid host. A non-root user gets
# EACCES on all three. The Datadog Agent's image runs as root for the same reasons.
USER root
# Exec form, so node is PID 1 and gets SIGTERM itself: the daemon handles it and exits 0 (node as
# PID 1 has no default signal handlers, but tagger run installs its own; no init is needed).
ENTRYPOINT ["tagger"]
CMD ["run"]
STOPSIGNAL SIGTERM
# GET /healthz on the daemon's socket (TAGGER_IPC_SOCKET, as the daemon reads it): 200 only when every
# enabled collector is healthy. Plain node, so it needs no token and no extra tool in the image.
# Not `tagger status`: it gives the same verdict (both read the collectors' health) but loads the
# whole CLI and config every 30 s, needs the token, and walks every entity for its counts; the
# probe only needs the verdict, and Kubernetes probes the same /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('node:http').get({socketPath: process.env.TAGGER_IPC_SOCKET || '/var/run/tagger/tagger.sock', path: '/healthz'}, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
