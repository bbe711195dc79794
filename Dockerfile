# The SEAL gateway as a container image (docs/operations.md#container-image).
#
#   bash scripts/docker.sh && bash scripts/base-image.sh   # a Docker Engine, the two base images
#   docker build -t seal-gateway .
#   docker run --read-only --tmpfs /tmp -v seal-data:/var/lib/seal-gateway \
#     -e SEAL_GATEWAY_MASTER_KEY="$(openssl rand -base64 32)" -p 8089:8089 seal-gateway
#
# No image registry is reachable where this is built and tested, so both bases are made locally
# by scripts/base-image.sh (Node.js 24 LTS at /usr/local/bin/node, as in the official node
# images). Where a registry is reachable, `--build-arg BUILD_BASE=node:24-bookworm
# --build-arg RUNTIME_BASE=node:24-bookworm-slim` builds the same layout from public images
# (not tried here). Written for the legacy builder (the engine here has no buildx) and plain
# BuildKit alike: no `# syntax=` line (BuildKit would pull that frontend from a registry), no
# RUN in the final stage, whose base has no shell.
ARG BUILD_BASE=seal-gateway-base/build:24
ARG RUNTIME_BASE=seal-gateway-base/runtime:24

# ---- every dependency, with the native one (better-sqlite3) compiled for this Node.js --------
FROM ${BUILD_BASE} AS deps
# Build stages are labelled so that stale cache images can be found and pruned (the test does).
LABEL org.seal-gateway.build-stage=deps
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts run only for the packages package.json's allowScripts allows; better-sqlite3
# falls back to compiling from source (node-gyp, headers in /usr/local) when no prebuilt binary
# can be downloaded, as here. On this Node.js the gateway loads better-sqlite3 13 instead (the
# optional better-sqlite3-napi, Node-API binaries inside its package; src/store/sqlite/driver.ts):
# both are checked.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 esbuild \
 && node -e 'new (require("better-sqlite3"))(":memory:").close()' \
 && node -e 'new (require("better-sqlite3-napi"))(":memory:").close()'

# ---- production dependencies only ---------------------------------------------------------
# better-sqlite3 13 ships binaries for eight platforms: only the one this Node.js loaded stays.
FROM deps AS prod-deps
LABEL org.seal-gateway.build-stage=prod-deps
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && cd node_modules/better-sqlite3 \
 && rm -rf deps src build/deps build/Release/obj build/Release/obj.target build/Release/.deps \
      build/Release/test_extension.node \
 && rm -rf ../better-sqlite3-napi/deps ../better-sqlite3-napi/src \
 && node -e 'const fs = require("node:fs"), path = require("node:path"); \
      new (require("better-sqlite3-napi"))(":memory:").close(); \
      const dir = path.resolve("../better-sqlite3-napi/prebuilds"); \
      for (const f of fs.readdirSync(dir)) if (!require.cache[path.join(dir, f)]) fs.rmSync(path.join(dir, f));' \
 && mkdir -p /out/var/lib/seal-gateway

# ---- the built gateway (tsc) and web console (vite) ----------------------------------------
FROM deps AS build
LABEL org.seal-gateway.build-stage=build
COPY tsconfig.json ./
COPY drizzle ./drizzle
COPY src ./src
COPY web ./web
RUN node node_modules/typescript/bin/tsc -p tsconfig.json \
 && npm run build:web \
 && find dist -name '*.map' -delete

# ---- the runtime: Node.js, production node_modules, built code; nothing else ---------------
FROM ${RUNTIME_BASE}
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
# The data directory: a volume (SQLite, and nothing else when the database is PostgreSQL).
COPY --from=prod-deps --chown=65532:65532 /out/var/lib/seal-gateway /var/lib/seal-gateway
COPY package.json LICENSE ./
COPY bin ./bin
COPY proto ./proto
COPY config ./config
COPY drizzle/sqlite/migrations ./drizzle/sqlite/migrations
COPY drizzle/pg/migrations ./drizzle/pg/migrations
COPY deploy/docker/seal-gateway.yaml /etc/seal-gateway/seal-gateway.yaml
COPY deploy/docker/healthcheck.mjs ./deploy/docker/healthcheck.mjs
COPY --from=build /app/dist/drizzle ./dist/drizzle
COPY --from=build /app/dist/web ./dist/web
COPY --from=build /app/dist/src ./dist/src
# Non-root (numeric, so Kubernetes' runAsNonRoot can check it); the root filesystem may be
# read-only: the gateway writes only under data_dir (and SQLite's temporary files under /tmp).
USER 65532:65532
ENV NODE_ENV=production \
    SEAL_GATEWAY_CONFIG=/etc/seal-gateway/seal-gateway.yaml \
    TMPDIR=/tmp
VOLUME ["/var/lib/seal-gateway"]
EXPOSE 8089
# GET /ready on the configured port: 200 once the gateway serves and its database answers.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/node", "/app/deploy/docker/healthcheck.mjs"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/node", "/app/bin/seal-gateway.js"]
CMD ["start"]
