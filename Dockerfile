# One image for every Konstruct process; docker-compose picks the entry point per service.
FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json prisma.config.ts tsconfig.json tsconfig.base.json ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY packages ./packages
COPY subgraphs ./subgraphs
COPY gateway ./gateway
COPY channel-bridge ./channel-bridge
COPY agent-runner ./agent-runner
# Dev dependencies stay: processes run TypeScript through tsx, and prisma generates the client.
RUN npm ci --include=dev --no-audit --no-fund
USER node
