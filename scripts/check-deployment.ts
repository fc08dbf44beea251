/**
 * npm run check-deployment: checks a deployed sessionguard against the Supabase project
 * it serves, and says what to fix (docs/deploy.md, "Check the deployment").
 *
 *   npm run check-deployment -- --url https://<ref>.supabase.co \
 *     [--apikey <publishable or anon key>] [--clerk-token-file <file> | -] \
 *     [--table <a table of yours>] [--db-url-file <file> | -] [--issuer <expected iss>] \
 *     [--function-url <url>] [--rest-url <url>]
 *
 * Secrets (the Clerk token, the connection string with its password) come from a file
 * or standard input, never the command line (./check-deployment/secrets.ts says why).
 * Each check tells "cannot reach X" apart from "X is wrong", with a fix for each.
 *
 * Exit status 0 when nothing failed (skipped checks and warnings do not fail), 1 when
 * a check failed, 2 on a usage error.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { checkDataApi } from "./check-deployment/data-api.ts";
import { checkDatabase, migrationsDir } from "./check-deployment/database.ts";
import { checkPublished, checkSignIn, signOut } from "./check-deployment/endpoints.ts";
import { lintOnly, lintSection } from "./check-deployment/lint.ts";
import { failed, type Finding, formatReport, type Section } from "./check-deployment/report.ts";
import { readSecret, REFUSED_ON_ARGV, standardInput } from "./check-deployment/secrets.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const USAGE = `usage: npm run check-deployment -- --url https://<ref>.supabase.co [options]

  --url <url>                 the project URL (the local stack: http://127.0.0.1:54321)
  --apikey <key>              publishable (or anon) key: enables the Data API checks
  --clerk-token-file <file>   a file holding a fresh Clerk session token (- reads standard
                              input): signs in once and checks the token
  --table <name>              a table of yours to query as the token's role (default: a probe)
  --db-url-file <file>        a file holding the database connection string (- reads
                              standard input): checks migrations and grants
  --issuer <url>              the issuer the project trusts (default: what the function says)
  --function-url <url>        default <url>/functions/v1/session
  --rest-url <url>            default <url>/rest/v1
  --lint                      with --db-url-file: what instant revocation leaves open
                              (sessionguard.lint()); without --url, only that
  --exposed-schemas <s>       comma-separated schemas the Data API exposes
                              (default public,graphql_public)
Environment: SUPABASE_PUBLISHABLE_KEY or SUPABASE_ANON_KEY for --apikey, CLERK_TOKEN for the Clerk token.
Secrets are never taken on the command line: npm prints it, and ps shows it to every user.`;

function usageError(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

const refused = Object.keys(REFUSED_ON_ARGV).find((name) =>
  process.argv.some((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`))
);
if (refused) {
  usageError(
    `--${refused} is not taken on the command line (it holds a secret): use ${REFUSED_ON_ARGV[refused]}`,
  );
}

let options: Record<string, string | boolean | undefined>;
try {
  ({ values: options } = parseArgs({
    options: {
      url: { type: "string" },
      apikey: { type: "string" },
      "clerk-token-file": { type: "string" },
      table: { type: "string" },
      "db-url-file": { type: "string" },
      issuer: { type: "string" },
      "function-url": { type: "string" },
      "rest-url": { type: "string" },
      lint: { type: "boolean" },
      "exposed-schemas": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  }));
} catch (error) {
  usageError((error as Error).message);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}
const string = (name: string) => (typeof options[name] === "string" ? options[name] as string : undefined);
if (options.lint && options.url === undefined) {
  const urlFile = string("db-url-file");
  const lintUrl = urlFile ? await readSecret("db-url-file", urlFile, standardInput()).catch((error) => {
    usageError((error as Error).message);
  }) : undefined;
  process.exit(await lintOnly(lintUrl, string("exposed-schemas")));
}
const base = typeof options.url === "string" ? options.url.replace(/\/+$/, "") : undefined;
if (!base || !/^https?:\/\/[^/]+$/.test(base)) {
  usageError("--url must be the project's URL, like https://abcdefgh.supabase.co");
}
if (string("clerk-token-file") === "-" && string("db-url-file") === "-") {
  usageError("only one of --clerk-token-file and --db-url-file can read standard input");
}
const functionUrl = (string("function-url") ?? `${base}/functions/v1/session`).replace(/\/+$/, "");
const restUrl = (string("rest-url") ?? `${base}/rest/v1`).replace(/\/+$/, "");
const apikey = string("apikey") ?? process.env.SUPABASE_PUBLISHABLE_KEY ?? process.env.SUPABASE_ANON_KEY;
const stdin = standardInput();
let clerkToken: string | undefined;
let databaseUrl: string | undefined;
try {
  const tokenFile = string("clerk-token-file");
  clerkToken = tokenFile ? await readSecret("clerk-token-file", tokenFile, stdin) : process.env.CLERK_TOKEN;
  const urlFile = string("db-url-file");
  databaseUrl = urlFile ? await readSecret("db-url-file", urlFile, stdin) : undefined;
} catch (error) {
  usageError((error as Error).message);
}

const functionFindings: Finding[] = [];
const published = await checkPublished(functionUrl, string("issuer"), functionFindings);
const accessToken = published.issuer === null
  ? null
  : await checkSignIn(functionUrl, published, clerkToken, functionFindings);
const dataFindings: Finding[] = [];
await checkDataApi(restUrl, apikey, accessToken, string("table"), dataFindings);
if (accessToken) await signOut(functionUrl, accessToken);
const databaseFindings: Finding[] = [];
await checkDatabase(databaseUrl, migrationsDir(root), databaseFindings);

const sections: Section[] = [
  { heading: `Session function (${functionUrl})`, findings: functionFindings },
  { heading: `Data API (${restUrl})`, findings: dataFindings },
  { heading: "Database", findings: databaseFindings },
  ...(options.lint ? [await lintSection(databaseUrl, string("exposed-schemas"))] : []),
];
console.log(formatReport(base, sections));
process.exit(failed(sections) ? 1 : 0);
