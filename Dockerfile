# syntax=docker/dockerfile:1
# One image for every service of the platform; docker-compose.yml picks the service with its command
# (`bun services/<name>/main.ts`).

FROM oven/bun:1.4.4 AS deps
WORKDIR /app
COPY package.json bun.lock ./
# The patches bun install applies (patchedDependencies: postgres.js, see README).
COPY patches ./patches
# Production dependencies only. The dev dependencies are the code generators and their inputs (buf,
# protoc-gen-es, drizzle-kit, google-proto-files, grpc-health-check, @grpc/reflection's protos), test
# clients (@grpc/grpc-js) and typescript. Their output, services/contracts/gen and each service's
# db/migrations, is committed (a test fails when it is stale), and Bun runs TypeScript as it is, so
# nothing in the image needs them.
RUN bun install --frozen-lockfile --production

FROM oven/bun:1.4.4
WORKDIR /app
# Listen on every interface; the kit then registers the container's hostname in NATS (ADVERTISE_HOST).
ENV NODE_ENV=production HOST=0.0.0.0
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bun.lock bunfig.toml tsconfig.json ./
COPY services ./services
COPY cli ./cli
COPY deploy/healthcheck.ts ./deploy/healthcheck.ts
# .data holds what a service keeps on disk (notification's mailbox, PGlite without DATABASE_URL). The
# mailbox folder exists in the image so a named volume mounted there starts out owned by bun.
RUN mkdir -p .data/mailbox && chown -R bun:bun .data
USER bun
CMD ["bun", "services/gateway/main.ts"]
