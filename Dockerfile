# Production image: Node 20 on Debian slim with what the bot runs locally (python3 + venv for Ansible, ssh client).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY playbooks ./playbooks

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip openssh-client ca-certificates tini curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
RUN useradd --create-home --uid 10001 dropship && mkdir -p /data && chown dropship:dropship /data
USER dropship
ENV NODE_ENV=production DATA_DIR=/data HTTP_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
# SIGTERM: the bot exits within 5 s (ON_SHUTDOWN=detach leaves torrent jobs on their droplets to resume at the next
# start), inside Docker's default 10 s stop grace period; keep `stop_grace_period` at 10s or more in compose.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "src/main.ts"]
