# syntax=docker/dockerfile:1
# crashwatch image: the agent binary on distroless/cc (glibc, no shell, non-root).
#
# The builder runs exactly `cargo build --release --locked`, the same command `.ci/run`
# uses to build and start-check the binary (no container engine in CI). Builder and
# runtime are both Debian 12 (glibc 2.36), so the dynamically linked binary runs as is.
# Build: docker build -t ghcr.io/crashwatch/crashwatch:0.1.0 .

FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && cp target/release/crashwatch /crashwatch

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="crashwatch" \
      org.opencontainers.image.description="Per-node Kubernetes agent that predicts container crashes (OOM kill first) from cgroup files" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/crashwatch/crashwatch"
COPY --from=builder /crashwatch /crashwatch
USER 65532:65532
EXPOSE 8000
ENTRYPOINT ["/crashwatch"]
CMD ["run"]
