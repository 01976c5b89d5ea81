// The browser test: drives Debian's headless Chromium against a running server (started by run.sh).
//
// Checks that (a) a page on an allowed origin calls the API with fetch and gets data, (b) a page on another
// origin is blocked by CORS, (c) GraphiQL at /graphql renders its editors with every request to another host
// aborted (and none attempted), then runs every `*.case.mjs` here with `{ page, apiUrl, token }`.
//
// Environment: API_URL (the server), ALLOWED_ORIGIN and BLOCKED_ORIGIN (both serve a blank page),
// CHROMIUM (default /usr/bin/chromium).

import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const apiUrl = process.env.API_URL;
const allowedOrigin = process.env.ALLOWED_ORIGIN;
const blockedOrigin = process.env.BLOCKED_ORIGIN;
if (!apiUrl || !allowedOrigin || !blockedOrigin) {
  throw new Error("API_URL, ALLOWED_ORIGIN and BLOCKED_ORIGIN must be set");
}
const apiHost = new URL(apiUrl).host;

async function login(username, password) {
  const response = await fetch(`${apiUrl}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      query: "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
      variables: { u: username, p: password },
    }),
  });
  const body = await response.json();
  if (!body.data?.login?.token) throw new Error(`demo admin login failed: ${JSON.stringify(body)}`);
  return body.data.login.token;
}

/// In the page: POST a query to the API, answering what happened instead of throwing.
const callApi = async ({ apiUrl, token }) => {
  try {
    const response = await fetch(`${apiUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "{ provinces(first: 1) { nodes { name } } }" }),
    });
    return { status: response.status, body: await response.json() };
  } catch (e) {
    return { blocked: String(e) };
  }
};

const results = [];
async function check(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}

const token = await login("admin", "admin-demo-2024");
const userDataDir = mkdtempSync(join(tmpdir(), "hoi-ccb-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
context.setDefaultTimeout(30000);

try {
  await check("a page on an allowed origin fetches data from the API", async () => {
    const page = await context.newPage();
    await page.goto(`${allowedOrigin}/`);
    const answer = await page.evaluate(callApi, { apiUrl, token });
    const names = answer.body?.data?.provinces?.nodes;
    if (answer.status !== 200 || !Array.isArray(names) || names.length !== 1) {
      throw new Error(`expected one province, got ${JSON.stringify(answer)}`);
    }
    await page.close();
  });

  await check("a page on another origin is blocked by CORS", async () => {
    const page = await context.newPage();
    await page.goto(`${blockedOrigin}/`);
    const answer = await page.evaluate(callApi, { apiUrl, token });
    if (!answer.blocked) throw new Error(`the browser let the page read ${JSON.stringify(answer)}`);
    await page.close();
  });

  await check("GraphiQL renders with no request leaving the server", async () => {
    const page = await context.newPage();
    const foreign = [];
    const problems = [];
    await page.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.host === apiHost || url.protocol === "data:" || url.protocol === "blob:") return route.continue();
      foreign.push(url.toString());
      return route.abort();
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    await page.goto(`${apiUrl}/graphql`);
    const queryEditor = page.locator('[aria-label="Query Editor"] .CodeMirror');
    await queryEditor.waitFor();
    // The header editor is open at start: the token typed there authenticates the editor's requests.
    const headersEditor = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror");
    await headersEditor.waitFor();
    await headersEditor.evaluate(
      (el, token) => el.CodeMirror.setValue(JSON.stringify({ Authorization: `Bearer ${token}` })),
      token,
    );
    await queryEditor.evaluate((el) => el.CodeMirror.setValue("{ me { authenticated role } }"));
    await page.locator(".graphiql-execute-button").click();
    const result = page.locator('[aria-label="Result Window"] .CodeMirror');
    try {
      await page.waitForFunction(
        (el) => el.CodeMirror.getValue().includes('"ADMIN"'),
        await result.elementHandle(),
        { timeout: 15000 },
      );
    } catch (e) {
      const shown = await result.evaluate((el) => el.CodeMirror.getValue()).catch(() => "?");
      throw new Error(`GraphiQL did not show the admin's role: ${shown}\n${problems.join("\n")}`);
    }
    if (foreign.length) throw new Error(`requests to other hosts: ${foreign.join(", ")}`);
    if (problems.length) throw new Error(problems.join("\n"));
    await page.close();
  });

  const cases = readdirSync(here).filter((f) => f.endsWith(".case.mjs")).sort();
  for (const file of cases) {
    await check(file, async () => {
      const page = await context.newPage();
      await page.goto(`${allowedOrigin}/`);
      const { run } = await import(pathToFileURL(join(here, file)).href);
      await run({ page, apiUrl, token });
      await page.close();
    });
  }
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok);
console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
