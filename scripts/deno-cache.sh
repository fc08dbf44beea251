#!/usr/bin/env bash
# Fills Deno's cache with each edge function's npm imports, pinned by the function's own
# deno.json and deno.lock (--frozen: the lock is never rewritten). The functions resolve
# their imports through those files, as they do when deployed, so the first `deno run`
# of a function on a fresh machine would otherwise download them itself; tests and the
# local stack start functions with a trimmed environment, without the machine's
# certificate settings that a TLS-inspecting proxy needs. Run by vitest's global setup,
# `npm start` and the bench; a no-op when the cache is already full.
set -euo pipefail
cd "$(dirname "$0")/.."

DENO=node_modules/.bin/deno
for config in supabase/functions/*/deno.json; do
  dir=$(dirname "$config")
  [[ -f $dir/index.ts ]] || continue
  if ! (cd "$dir" && RUST_BACKTRACE=0 "../../../$DENO" cache --frozen --quiet index.ts); then
    echo "deno cache failed for $dir (are the npm registry and its certificates reachable?)" >&2
    exit 1
  fi
done
