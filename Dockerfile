# One image for both planes: the Helm chart runs `apps/metadata-plane/src/main.ts` or
# `apps/data-plane/src/main.ts` (TypeScript through tsx, as in development).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npm run build --workspace @slate/web && npm prune --omit=dev --workspaces --include-workspace-root

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=1000:1000 /app /app
USER 1000
EXPOSE 4000 4001
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["apps/metadata-plane/src/main.ts"]
