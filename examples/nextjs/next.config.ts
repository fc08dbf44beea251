/**
 * The example's Next.js config. In this repository `@sessionguard/*` resolve to the
 * packages' sources (tsconfig.json `paths`), so Turbopack's root is the repository; an
 * app of your own installs the packages instead.
 */
import path from "node:path";
import type { NextConfig } from "next";

const repo = path.resolve(import.meta.dirname, "..", "..");

const config: NextConfig = {
  turbopack: { root: repo },
  outputFileTracingRoot: repo,
  // The build output of each run of the tests or of `npm run example:next` goes here.
  distDir: process.env.SG_NEXT_DIST_DIR ?? ".next",
  poweredByHeader: false,
};

export default config;
