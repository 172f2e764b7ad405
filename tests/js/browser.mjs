// What the browser tests share: the server under test, one JSON line per check, GraphQL over fetch, and
// Debian's Chromium launched headless (CHROMIUM, default /usr/bin/chromium) with a page that records script
// errors and console errors.
import { chromium } from "playwright-core";

export const base = process.env.SLAWATCH_URL;
export const PASSWORD = "golem-trust-demo";

export function check(condition, what, detail = {}) {
  console.log(JSON.stringify({ check: what, ok: Boolean(condition), ...detail }));
  if (!condition) throw new Error(`failed: ${what} ${JSON.stringify(detail)}`);
}

export async function gql(token, query, variables = {}) {
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

// A page of a new 1400×900 context; `problems` collects its script errors and console errors.
export async function watchedPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(String(error)));
  page.on("console", (message) => message.type() === "error" && problems.push(message.text()));
  return { context, page, problems };
}
