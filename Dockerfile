# syntax=docker/dockerfile:1.7
# Keyward operator image: a static release binary on distroless/static, running as a non-root user.
#
#   docker build -t keyward:dev .
#
# The binary is built by deploy/build-release.sh, which CI runs too, so CI builds the very binary
# this image ships (same toolchain version, same command, same flags):
#   RUSTFLAGS="-C target-feature=+crt-static" \
#     cargo build --release --locked --target x86_64-unknown-linux-gnu --bin keyward
# See that script for why the binary is static glibc rather than musl.

# Keep in step with the toolchain CI uses (rustc --version on the CI machine).
ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
# Only what the build reads (see .dockerignore): manifests, sources, the bench the manifest declares,
# and the build script.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY deploy/build-release.sh ./deploy/build-release.sh
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    bin="$(deploy/build-release.sh)" \
    && install -D -m 0755 "$bin" /out/keyward \
    && /out/keyward --version

# distroless/static: CA certificates, /etc/passwd with the nonroot user (65532), tzdata; no shell.
FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="keyward" \
      org.opencontainers.image.description="Kubernetes operator mirroring and rotating Scaleway Secret Manager secrets" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/keyward /usr/local/bin/keyward
# Numeric, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/keyward"]
CMD ["run"]
