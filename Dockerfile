# The production image: the compiled build (`npm run build`, dist/) on Node 20, the production dependencies only,
# run as the non-root user `gateway` (uid 10001). The image holds dist/, package.json, node_modules, the SQL
# migrations and the webmail's files (web/), which the build finds through config/paths.ts: no TypeScript
# sources, tests, docs or benchmarks, no tsx, no compiler. Dependencies come from the lock file (`npm ci`).
# docker-compose.yml runs it next to PostgreSQL 15 (README, "Docker").
ARG NODE_IMAGE=node:20-bookworm-slim

# 1. The build: every dependency, then the TypeScript compiler.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY access ./access
COPY api ./api
COPY app ./app
COPY certs ./certs
COPY config ./config
COPY db ./db
COPY gateway ./gateway
COPY mailbox ./mailbox
COPY vault ./vault
RUN npm run build

# 2. The production dependencies alone, from the same lock file.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund

# 3. The runtime.
FROM ${NODE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/gateway gateway \
    && mkdir -p /data && chown gateway:gateway /data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY db/migrations ./db/migrations
COPY web ./web
USER gateway
# glibc: large buffers always mmapped, so freed chunk buffers go back to the system (README, Memory)
ENV MALLOC_MMAP_THRESHOLD_=131072 NODE_ENV=production DATA_DIR=/data SMTP_HOST=0.0.0.0 API_HOST=0.0.0.0 SMTP_PORT=2525 API_PORT=8080
EXPOSE 2525 8080
VOLUME ["/data"]
# Healthy: the process serves HTTP and its database answers (GET /ready, on every role's API port).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.API_PORT||8080)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/app/main.js"]
