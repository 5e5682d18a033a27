# The gateway image: one image for both processes (`clusterlink controlplane`, `clusterlink dataplane`).
# Build: docker build -t ghcr.io/clusterlink-ts/clusterlink:0.1.0 .
# Keep in step with test/cluster/images/build.sh (build_gateway), which assembles an image with the
# same contents (package.json, lib/, production node_modules, user 1000:1000, working folder,
# environment, ports, entrypoint, command) without a registry for the real-Kubernetes test sites.

FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY kernel kernel
COPY constructs constructs
COPY controller controller
COPY dataplane dataplane
COPY cli cli
COPY imports imports
COPY bench bench
RUN npm run build && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/lib lib
# The image's unprivileged "node" user, by number so that Kubernetes can verify runAsNonRoot.
USER 1000:1000
# 8443: gateway (behind Service port 443), 9444: control-plane snapshots, 9090: health and metrics.
EXPOSE 8443 9444 9090
ENTRYPOINT ["node", "lib/cli/main.js"]
CMD ["--help"]
