# syntax=docker/dockerfile:1
# The SFU node image: the workspace's `veet` binary, run as `veet sfu` (see cdk/lib/sfu.ts).

ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target dir between builds on the same machine.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p veet --bin veet \
    && install -m 0755 target/release/veet /usr/local/bin/veet

FROM debian:bookworm-slim
# ca-certificates: TLS to ElastiCache and AWS APIs; curl: the ECS container health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/veet /usr/local/bin/veet
# Unprivileged: media ports are above 1024, so no capability is needed.
USER 65532:65532
ENTRYPOINT ["veet"]
CMD ["sfu"]
