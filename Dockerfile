# One image for both planes: the Helm charts run `node dist/metadata-plane/main.js` or
# `node dist/data-plane/main.js` from /app (the compiled build, `npm run build`; no tsx at run time).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY . .
# @confluentinc/kafka-javascript is optional and only runs the Kafka tests (librdkafka's mock cluster):
# production talks to Kafka through kafkajs, so the image never carries it.
RUN npm ci --no-audit --no-fund && npm run build \
  && npm prune --omit=dev --workspaces --include-workspace-root && rm -rf node_modules/@confluentinc

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# Stack traces name the TypeScript sources (dist/ carries source maps).
ENV NODE_OPTIONS=--enable-source-maps
COPY --from=build --chown=1000:1000 /app /app
USER 1000
EXPOSE 4000 4001 9464
ENTRYPOINT ["node"]
CMD ["dist/metadata-plane/main.js"]
