# The API's production image: the server (`node dist/main.js`) with production dependencies only, run as the
# unprivileged `node` user. The build stage runs scripts/build-image.sh, which test/image.test.ts also runs
# directly, so what goes into the image is tested where no image can be built. See docs/deploying-aws.md.
# Node's version follows .nvmrc.
FROM node:24.22.3-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts/build-image.sh scripts/
COPY schema schema
COPY src src
RUN scripts/build-image.sh /app

FROM node:24.22.3-bookworm-slim
ENV NODE_ENV=production
# RDS for PostgreSQL requires TLS, and its certificates chain to Amazon's RDS CAs, which Node does not trust by
# default: the global bundle is added for the connection's verify-full check.
ADD https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/rds-global-bundle.pem
WORKDIR /app
COPY --from=build /app ./
USER node
EXPOSE 4000
# node directly (not npm) as PID 1's child-free process: SIGTERM reaches the server, which drains and exits 0.
CMD ["node", "dist/main.js"]
