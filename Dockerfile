# syntax=docker/dockerfile:1
#
# changewatch: one binary (worker, scheduler, enqueue, detect, serve, demo, status).
#   docker build -t changewatch .
#   docker run --rm changewatch worker ...
#
# GDAL is linked dynamically through cgo (godal), so the runtime stage must carry the
# same Debian release's GDAL shared library as the builder (bookworm: GDAL 3.6,
# libgdal32).

FROM golang:1.26-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgdal-dev libjpeg-dev g++ pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Modules first, so this layer is reused until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath -o /out/changewatch ./cmd/changewatch

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgdal32 libjpeg62-turbo ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Fixed uid/gid so volumes and Kubernetes securityContext can refer to them.
RUN groupadd --system --gid 10001 changewatch \
 && useradd --system --uid 10001 --gid changewatch --home-dir /var/lib/changewatch \
      --create-home --shell /usr/sbin/nologin changewatch
COPY --from=builder /out/changewatch /usr/local/bin/changewatch
WORKDIR /var/lib/changewatch
# Numeric so Kubernetes' runAsNonRoot can verify it; 10001 is the changewatch user.
USER 10001:10001
ENTRYPOINT ["changewatch"]
CMD ["--help"]
