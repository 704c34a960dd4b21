#!/usr/bin/env bash
# The README's first command: bring the webapp example up on the embedded
# engine. Without internet (as on these machines), the example's images are
# built from Debian packages and served by a local registry that the engine
# uses as docker.io's mirror; the stack file itself is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${TSCOMPOSE_NO_MIRROR:-}" != "1" ]; then
  # From source (vite-node): the fixture tools are not part of the build in dist/.
  node_modules/.bin/vite-node test/fixtures/local-mirror.ts
fi
bin/tscompose up -f examples/webapp/compose.yaml -d --wait
bin/tscompose ps -f examples/webapp/compose.yaml
echo
echo "web answers on http://127.0.0.1:8080/ :"
curl -fsS http://127.0.0.1:8080/ || wget -qO- http://127.0.0.1:8080/
echo
echo "Take it down with: bin/tscompose down -f examples/webapp/compose.yaml"
