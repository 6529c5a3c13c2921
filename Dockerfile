# mcp-soak container image: one binary for `run`, `mock`, `demo`, `compare`, ...
#
#   docker build -t mcp-soak:local .
#   docker run --rm -p 8080:8080 mcp-soak:local mock --listen 0.0.0.0:8080 --allowed-host localhost
#
# Health checks live in docker-compose.yml (the port to probe depends on the subcommand: 9464 for
# `run`'s /readyz, 8080 for `mock`'s /healthz), so the runtime stage carries `curl` (~1 MB) for them.
# Works with the classic builder (docker-compose 1.29) as well as BuildKit.

# ---- build ------------------------------------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src

# Dependencies first, against stub sources, so editing src/ does not rebuild them. Every target path
# declared in Cargo.toml gets a stub too (cargo refuses a manifest whose declared targets are missing).
COPY Cargo.toml Cargo.lock build.rs* ./
RUN mkdir -p src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && for p in $(grep -oE '^path *= *"[^"]+"' Cargo.toml | cut -d'"' -f2); do \
      mkdir -p "$(dirname "$p")"; [ -e "$p" ] || echo 'fn main() {}' > "$p"; \
    done \
 && cargo build --release --locked \
 && rm -rf src

COPY . .
# The stub build left fresher timestamps on the crate's own artifacts: force a rebuild of the crate.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin mcp-soak \
 && install -m 0755 target/release/mcp-soak /usr/local/bin/mcp-soak \
 && /usr/local/bin/mcp-soak --version | grep -q '^mcp-soak '

# ---- runtime ----------------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 mcp-soak \
 && useradd --system --uid 10001 --gid mcp-soak --home-dir /home/mcp-soak --create-home mcp-soak \
 && mkdir -p /config /results \
 && chown mcp-soak:mcp-soak /results
COPY --from=build /usr/local/bin/mcp-soak /usr/local/bin/mcp-soak

USER mcp-soak:mcp-soak
WORKDIR /home/mcp-soak
# 9464: `run --metrics-listen 0.0.0.0:9464` (/metrics). 8080: `mock --listen 0.0.0.0:8080` (/mcp).
EXPOSE 9464 8080
ENTRYPOINT ["mcp-soak"]
CMD ["--help"]
