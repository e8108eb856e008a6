# One image for both planes: the Helm chart runs `apps/metadata-plane/src/main.ts` or
# `apps/data-plane/src/main.ts` (TypeScript through tsx, as in development).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
# @confluentinc/kafka-javascript is optional and only runs the Kafka tests (librdkafka's mock cluster):
# production talks to Kafka through kafkajs, so the image never carries it.
RUN npm ci --no-audit --no-fund && npm run build --workspace @slate/web \
  && npm prune --omit=dev --workspaces --include-workspace-root && rm -rf node_modules/@confluentinc

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=1000:1000 /app /app
USER 1000
EXPOSE 4000 4001
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["apps/metadata-plane/src/main.ts"]
