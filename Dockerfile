# One image for every service: `atelier serve <auth|catalog|generation|commerce|edge>`.
FROM swift:6.3-bookworm AS build
WORKDIR /src
# zlib's headers: generation reads outside providers' PNGs (the runtime's zlib1g is in every Debian).
RUN apt-get update && apt-get install -y --no-install-recommends zlib1g-dev && rm -rf /var/lib/apt/lists/*
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product atelier --static-swift-stdlib \
 && mkdir -p /out \
 && cp "$(swift build -c release --show-bin-path)/atelier" /out/ \
 && cp -r "$(swift build -c release --show-bin-path)"/*.resources /out/

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata libcurl4 espeak-ng \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/atelier --create-home atelier \
 && install -d -o atelier /var/lib/atelier/blobs
# The blobs directory exists, owned by the service user, so the compose volume mounted on it is writable.
# libcurl carries the HTTP calls to payment providers (FoundationNetworking); espeak-ng is the local
# provider's narrator.
# SwiftPM resource bundles (API descriptors, the common-password list, the price list) sit beside the executable.
COPY --from=build /out/ /usr/local/bin/
USER atelier
WORKDIR /var/lib/atelier
ENV ATELIER_DATA_DIR=/var/lib/atelier
ENTRYPOINT ["atelier"]
CMD ["serve", "edge"]
