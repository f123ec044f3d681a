#!/usr/bin/env bash
# Vendors swagger-ui-dist into assets/, gzipped: the docs page must work
# offline, so its files are embedded in the binary, never fetched from a CDN.
#
#   internal/swaggerui/fetch.sh [version]
set -euo pipefail
cd "$(dirname "$0")"
version="${1:-5.35.0}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "swagger-ui-dist@$version" >/dev/null && tar xzf swagger-ui-dist-*.tgz)
for f in swagger-ui-bundle.js swagger-ui.css; do
	gzip -9 -n -c "$tmp/package/$f" > "assets/$f.gz"
done
cp "$tmp/package/LICENSE" "$tmp/package/NOTICE" "$tmp/package/swagger-ui-bundle.js.LICENSE.txt" assets/
echo "$version" > assets/VERSION
sed -i "s/^const version = .*/const version = \"$version\" \/\/ TestVersion checks it against assets\/VERSION/" swaggerui.go
ls -l assets
