// The dashboard when its live subscription falls behind (tests/api/browser.rs runs the server with a
// 16-event live buffer): 1,000 findings created in one request are more than the buffer (sixteen messages
// sent at once, while the connection is still resolving the first), the server says RESYNC_REQUIRED,
// and the page reloads its counts instead of showing a problem. Environment: SLAWATCH_URL,
// CHROMIUM. Prints one JSON line per check; exits non-zero on the first failure.
import { base, check, gql, launch, PASSWORD, watchedPage } from "./browser.mjs";


const browser = await launch();
try {
  const { page, problems } = await watchedPage(browser);
  await page.goto(base);
  await page.getByLabel("Username").fill("cheery");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForSelector("body[data-live='true']");

  const token = (await gql(null, `mutation { login(username: "cheery", password: "${PASSWORD}") { token } }`)).login.token;
  const product = (await gql(token, "{ products(first: 1) { nodes { id } } }")).products.nodes[0].id;
  const before = (await gql(token, "{ findings(filter: {outsideSla: true, severities: [CRITICAL]}) { totalCount } }"))
    .findings.totalCount;
  const inputs = Array.from({ length: 1000 }, (_, n) => ({
    productId: product,
    title: `Burst ${n}`,
    severity: "CRITICAL",
    slaStart: "2020-01-01T00:00:00Z",
  }));
  await gql(token, "mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }", { i: inputs });
  const expected = before + 1000;
  await page
    .waitForFunction(
      (n) => Number(document.querySelector('.count[data-severity="CRITICAL"] .n')?.dataset.breached) === n,
      expected,
      { timeout: 15000 },
    )
    .catch(async (error) => {
      // What the page shows instead, and what the server answers now, for whoever reads the failure.
      const shown = await page.evaluate(() => document.querySelector('.count[data-severity="CRITICAL"] .n')?.dataset.breached);
      const live = await page.locator("#live").textContent();
      const now = (await gql(token, "{ findings(filter: {outsideSla: true, severities: [CRITICAL]}) { totalCount } }"))
        .findings.totalCount;
      check(false, "the Critical count took in the burst", { expected, shown, live, now, problems, error: error.message });
    });
  check(true, "the Critical count took in the burst", { expected });
  const live = await page.locator("#live").textContent();
  check(live === "live", "the live status shows no problem after falling behind", { live });
  check(problems.length === 0, "no script errors or CSP violations", { problems });
} finally {
  await browser.close();
}
