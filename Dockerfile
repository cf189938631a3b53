# ProcClaw Healing worker / API image (see docker-compose.yml).
#   docker build -t procclaw-healing .
#   docker run --rm procclaw-healing node bin/healing.js --help
ARG NODE_IMAGE=node:20-bookworm-slim

# All dependencies, to build the dashboard.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Exactly the locked dependencies: a lock out of sync with package.json fails the build.
RUN npm ci --no-audit --no-fund
COPY . .
# The dashboard, into web/dist: the API serves it at /.
RUN npm run build:web

# Runtime: production dependencies (tsx runs the TypeScript sources directly) and the built dashboard.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY . .
COPY --from=build /app/web/dist ./web/dist
RUN mkdir -p /data /jobs && chown node:node /data /jobs
USER node
ENV HEALING_DATA_DIR=/data \
    HEALING_JOBS_DIR=/jobs \
    PORT=3000
EXPOSE 3000
CMD ["node", "--import", "tsx", "cli/healing.ts", "api"]
