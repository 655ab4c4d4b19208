#!/usr/bin/env bash
# System packages the test suite needs beyond Python: headless Chromium for the dashboard test.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null
else
  echo "note: chromium not found and cannot be installed here; the dashboard browser test will skip" >&2
fi
