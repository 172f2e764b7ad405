// The dashboard when its live subscription falls behind (tests/api/browser.rs runs the server with a
// 16-event live buffer): 1,000 findings created in one request are more than the buffer (sixteen messages
// sent at once, while the connection is still resolving the first), the server says RESYNC_REQUIRED,
// and the page reloads its counts instead of showing a problem, reloading its alerts at most every quarter of a
// second however many alert events come. First, a connection dropped and made again reloads what the page
// missed meanwhile. Environment: SLAWATCH_URL, CHROMIUM. Prints one JSON line per check; exits non-zero on the
// first failure.
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
  const breachedCritical = async () =>
    (await gql(token, "{ findings(filter: {outsideSla: true, severities: [CRITICAL]}) { totalCount } }")).findings
      .totalCount;
  const shownCritical = (n) =>
    page.waitForFunction(
      (n) => Number(document.querySelector('.count[data-severity="CRITICAL"] .n')?.dataset.breached) === n,
      n,
      { timeout: 15000 },
    );

  // A connection made again reloads what it missed: the page stops hearing its socket, a Critical breaches and
  // the sweep announces it unheard, then the socket drops and the page connects again.
  const missed = (await breachedCritical()) + 1;
  await page.evaluate(() => {
    state.socket.onmessage = () => {};
  });
  const unheard = (
    await gql(token, "mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }", {
      i: [{ productId: product, title: "Unheard", severity: "CRITICAL", slaStart: "2020-01-01T00:00:00Z" }],
    })
  ).createFindings[0].id;
  // The sweep run now rather than waited for; again should the scheduler's own sweep hold the finding at that
  // moment (on PostgreSQL a sweep passes over rows another one has locked).
  for (let tries = 0; ; tries++) {
    await gql(token, "mutation { runSlaSweep { emitted } }");
    const finding = (await gql(token, "query($id: ID!) { finding(id: $id) { slaEvents { kind } } }", { id: unheard }))
      .finding;
    if (finding.slaEvents.some((event) => event.kind === "BREACH")) break;
    if (tries === 20) throw new Error("the sweep did not announce the unheard breach");
  }
  await page.evaluate(() => state.socket.close());
  await shownCritical(missed).catch(async (error) => {
    const shown = await page.evaluate(() => document.querySelector('.count[data-severity="CRITICAL"] .n')?.dataset.breached);
    check(false, "the count took in what was missed while the connection was down", { missed, shown, error: error.message });
  });
  check(true, "the count took in what was missed while the connection was down", { missed });
  await page.waitForSelector("body[data-live='true']");

  // The burst. The alerts' reloads are counted: one waits at a time, not one a live event.
  let alertReloads = 0;
  page.on("request", (request) => {
    if (request.url().endsWith("/graphql") && request.postData()?.includes("unreadAlertCount")) alertReloads++;
  });
  const before = await breachedCritical();
  const inputs = Array.from({ length: 1000 }, (_, n) => ({
    productId: product,
    title: `Burst ${n}`,
    severity: "CRITICAL",
    slaStart: "2020-01-01T00:00:00Z",
  }));
  const burstAt = Date.now();
  await gql(token, "mutation($i: [CreateFindingInput!]!) { createFindings(inputs: $i) { id } }", { i: inputs });
  const expected = before + 1000;
  await shownCritical(expected).catch(async (error) => {
    // What the page shows instead, and what the server answers now, for whoever reads the failure.
    const shown = await page.evaluate(() => document.querySelector('.count[data-severity="CRITICAL"] .n')?.dataset.breached);
    const live = await page.locator("#live").textContent();
    const now = await breachedCritical();
    check(false, "the Critical count took in the burst", { expected, shown, live, now, problems, error: error.message });
  });
  check(true, "the Critical count took in the burst", { expected });
  // The alerts the burst's breaches make keep arriving for a while: two seconds more of them.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  // One every quarter of a second at most, and a few more for the reloads already waiting when it began.
  const allowed = Math.ceil((Date.now() - burstAt) / 250) + 4;
  check(alertReloads <= allowed, "a burst of alerts reloads them at most every quarter of a second", {
    alertReloads,
    allowed,
  });
  const live = await page.locator("#live").textContent();
  check(live === "live", "the live status shows no problem after falling behind", { live });
  check(problems.length === 0, "no script errors or CSP violations", { problems });
} finally {
  await browser.close();
}
