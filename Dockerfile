# syntax=docker/dockerfile:1
# smartassist-exporter image (README: "Docker"). Multi-stage: build with the Rust toolchain,
# run on distroless (glibc + libgcc, no shell, no package manager) as a non-root user. TLS is
# rustls with the crate's own roots handling, so the image needs no OpenSSL.
#
#   docker build -t smartassist-exporter .
#   docker run --rm -p 9877:9877 smartassist-exporter --demo

# The toolchain CI builds and tests with (Cargo.toml declares the minimum).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target directory between builds; the binary is copied
# out of the cache before the layer ends.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin smartassist-exporter \
 && install -D -m 0755 target/release/smartassist-exporter /out/smartassist-exporter

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/smartassist-exporter /usr/local/bin/smartassist-exporter
# nonroot: uid/gid 65532. The checkpoint, when configured (state.path), goes to a volume.
USER 65532:65532
EXPOSE 9877
ENTRYPOINT ["/usr/local/bin/smartassist-exporter"]
CMD ["--config", "/etc/smartassist-exporter/smartassist.yml"]
