# secretsync image: `docker build -t secretsync .` from the repository root.
#
# Stage 1 builds a Release binary on Debian 12 with Debian's libraries (the same packages
# scripts/install-deps.sh installs). Stage 2 is distroless/cc (glibc, libstdc++, CA certificates,
# no shell, user nonroot 65532) plus exactly the shared libraries the binary loads, which the build
# stage collects with ldd (glibc and libstdc++ come with the base) under their sonames — so the image carries no package manager and nothing unused.
FROM debian:bookworm AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential cmake git pkg-config ca-certificates \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev libcurl4-openssl-dev libssl-dev \
      libyaml-cpp-dev prometheus-cpp-dev libboost-dev nlohmann-json3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY pkg/ pkg/
COPY cmd/ cmd/
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSECRETSYNC_BUILD_TESTS=OFF \
      -DSECRETSYNC_BUILD_BENCH=OFF \
 && cmake --build build --target secretsync -j"$(nproc)" \
 && strip build/cmd/secretsync/secretsync \
 && mkdir -p /rootfs/usr/local/bin /rootfs/usr/lib/x86_64-linux-gnu \
 && cp build/cmd/secretsync/secretsync /rootfs/usr/local/bin/ \
 && ldd build/cmd/secretsync/secretsync \
      | awk '$3 ~ /^\// { print $1, $3 }' \
      | grep -vE '^(libc|libm|libstdc\+\+|libgcc_s)\.so' \
      | while read -r soname path; do \
          cp -L "$path" "/rootfs/usr/lib/x86_64-linux-gnu/$soname"; \
        done

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /rootfs/ /
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/secretsync"]
CMD ["--help"]
