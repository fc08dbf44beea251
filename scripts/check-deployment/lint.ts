/**
 * `npm run check-deployment -- --lint --db-url <url>`: runs `sessionguard.lint()` in the
 * project's database and reports each open surface it finds (SG001-SG004) as a failed
 * check with its fix (supabase/migrations/20261207000310_lint.sql says what each means).
 */
import postgres from "postgres";
import { fail, failed, type Finding, formatReport, pass, type Section, skip } from "./report.ts";

interface LintRow {
  readonly code: string;
  readonly name: string;
  readonly object: string;
  readonly detail: string;
  readonly fix: string;
}

/** Runs the lint against `databaseUrl`, with the Data API's exposed schemas. */
export async function checkLint(
  databaseUrl: string | undefined,
  exposedSchemas: readonly string[],
  findings: Finding[],
): Promise<void> {
  if (!databaseUrl) {
    findings.push(skip("lint", "no --db-url (the project's connection string)"));
    return;
  }
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 15 });
  try {
    const [found] =
      await sql`select to_regprocedure('sessionguard.lint(text[], boolean)') is not null as present`;
    if (!found?.present) {
      findings.push(
        fail("lint", "sessionguard.lint() is missing", "apply sessionguard's migrations: supabase db push"),
      );
      return;
    }
    const rows = await sql<LintRow[]>`
      select code, name, object, detail, fix from sessionguard.lint(${[...exposedSchemas]}::text[])`;
    for (const row of rows) {
      findings.push(fail(`${row.code} ${row.name}`, `${row.object}: ${row.detail}`, row.fix));
    }
    if (rows.length === 0) {
      findings.push(pass("lint", `no surface left open (exposed schemas: ${exposedSchemas.join(", ")})`));
    }
  } catch (error) {
    findings.push(fail("lint", (error as Error).message, "check --db-url: the role must read the catalogs"));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** The lint's section of the report; `exposedSchemas` comma-separated (default public, graphql_public). */
export async function lintSection(databaseUrl: unknown, exposedSchemas: unknown): Promise<Section> {
  const schemas = (typeof exposedSchemas === "string" ? exposedSchemas : "public,graphql_public")
    .split(",").map((schema) => schema.trim()).filter(Boolean);
  const findings: Finding[] = [];
  await checkLint(typeof databaseUrl === "string" ? databaseUrl : undefined, schemas, findings);
  return { heading: "Lint (sessionguard.lint())", findings };
}

/** `--lint` without `--url`: only the lint; prints the report, answers the exit status (2: no --db-url). */
export async function lintOnly(databaseUrl: unknown, exposedSchemas: unknown): Promise<number> {
  if (typeof databaseUrl !== "string" || databaseUrl === "") {
    console.error("--lint needs --db-url-file <a file holding the project's connection string, or - for standard input>");
    return 2;
  }
  const sections = [await lintSection(databaseUrl, exposedSchemas)];
  console.log(formatReport(databaseUrl.replace(/:[^:@/]*@/, ":***@"), sections));
  return failed(sections) ? 1 : 0;
}
