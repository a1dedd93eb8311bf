# Multi-stage build: dependencies and type check in the first stage, a slim non-root runtime in the second.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY . .
RUN npx tsc --noEmit && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /home/gateway gateway \
    && mkdir -p /data && chown gateway /data
WORKDIR /app
COPY --from=build --chown=root:root /app /app
USER gateway
# glibc: large buffers always mmapped, so freed chunk buffers go back to the system (README, Memory)
ENV MALLOC_MMAP_THRESHOLD_=131072 NODE_ENV=production DATA_DIR=/data SMTP_HOST=0.0.0.0 API_HOST=0.0.0.0 SMTP_PORT=2525 API_PORT=8080
EXPOSE 2525 8080
VOLUME ["/data"]
CMD ["node", "dist/app/main.js"]
