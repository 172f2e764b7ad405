// GraphiQL in a real browser (Debian's chromium through playwright-core), driven by tests/api/browser.rs
// against `slawatch serve --demo`, with every request to another origin blocked and counted: it must load
// and work offline. Signs in through GraphiQL, then runs `me` with the token in the Headers tab.
// Environment: SLAWATCH_URL, CHROMIUM. Prints one JSON line per check; exits non-zero on the first failure.
import { base, check, launch, watchedPage } from "./browser.mjs";


/// Replaces the text of the CodeMirror editor under `selector` (no key events: no auto-closed brackets).
async function fill(page, selector, text) {
  await page.click(`${selector} .CodeMirror >> visible=true`);
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(text);
}

async function run(page) {
  await page.click(".graphiql-execute-button");
}

async function result(page, contains) {
  await page.waitForFunction(
    (text) => document.querySelector(".result-window")?.textContent.includes(text),
    contains,
    { timeout: 15000 },
  );
  const text = await page.evaluate(() => document.querySelector(".result-window").textContent);
  // The editor's text, without its gutter's fold markers around it and with its non-breaking and zero-width
  // spaces made plain.
  const json = text.slice(text.indexOf("{"), text.lastIndexOf("}") + 1).replace(/[^\x20-\x7e]/g, " ");
  return JSON.parse(json);
}

const browser = await launch();
try {
  const { context, page, problems } = await watchedPage(browser);
  const origin = new URL(base).origin;
  const elsewhere = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin || url.startsWith("data:")) return route.continue();
    elsewhere.push(url);
    return route.abort();
  });

  await page.goto(`${base}/graphql`);
  await page.waitForSelector(".graphiql-container .graphiql-query-editor .CodeMirror", { timeout: 20000 });
  check(true, "GraphiQL renders");

  await fill(page, ".graphiql-query-editor", "{ __typename }");
  await run(page);
  const typename = await result(page, '"__typename"');
  check(typename.data.__typename === "QueryRoot" || typeof typename.data.__typename === "string", "{ __typename } answers", {
    typename,
  });

  await fill(page, ".graphiql-query-editor", 'mutation { login(username: "cheery", password: "golem-trust-demo") { token } }');
  await run(page);
  const signedIn = await result(page, '"token"');
  const token = signedIn.data.login.token;
  check(typeof token === "string" && token.length > 20, "login runs through GraphiQL");

  // The page opens with the Headers tab shown (its own start script asks for it).
  await fill(page, ".graphiql-editor-tool", JSON.stringify({ Authorization: `Bearer ${token}` }));
  await fill(page, ".graphiql-query-editor", "{ me { username isSuperuser } }");
  await run(page);
  const me = await result(page, '"username"');
  check(me.data.me.username === "cheery" && me.data.me.isSuperuser === true, "the Headers tab's Bearer token signs in", {
    me,
  });

  // An API token in the Headers tab, with its own scheme.
  await fill(page, ".graphiql-query-editor", 'mutation { createApiToken(name: "graphiql") { token } }');
  await run(page);
  const created = await result(page, '"createApiToken"');
  await fill(page, ".graphiql-editor-tool", JSON.stringify({ Authorization: `Token ${created.data.createApiToken.token}` }));
  await fill(page, ".graphiql-query-editor", "{ me { username } }");
  await run(page);
  const viaToken = await result(page, '"username"');
  check(viaToken.data.me.username === "cheery", "the Headers tab's Token (API token) signs in", { viaToken });

  check(elsewhere.length === 0, "nothing requested from another origin", { elsewhere });
  check(problems.length === 0, "no script errors or CSP violations", { problems });
} finally {
  await browser.close();
}
