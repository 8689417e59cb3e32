# One image for the server and the ingest workers. Build: docker build -t citygrid .
FROM node:20-bookworm-slim
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH NODE_ENV=production
RUN npm install -g pnpm@12.4.2
WORKDIR /app
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
COPY db/package.json db/
COPY server/package.json server/
COPY iot/package.json iot/
COPY client/package.json client/
COPY test/package.json test/
RUN pnpm install --frozen-lockfile
COPY . .
RUN pnpm --filter @citygrid/client build
EXPOSE 3000
CMD ["pnpm", "--filter", "@citygrid/server", "start"]
