// The dashboard in a real browser (Debian's chromium through playwright-core), driven by tests/api/browser.rs
// against `slawatch serve --demo` with a one-second sweep. Environment: SLAWATCH_URL, SLAWATCH_SCREENSHOT,
// CHROMIUM (default /usr/bin/chromium). Prints one JSON line per check; exits non-zero on the first failure.
import { base, check, gql, launch, PASSWORD, watchedPage } from "./browser.mjs";

const screenshot = process.env.SLAWATCH_SCREENSHOT;
const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];

async function login(username) {
  const data = await gql(null, "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }", {
    u: username,
    p: PASSWORD,
  });
  return data.login.token;
}

async function breachedBySeverity(token) {
  const data = await gql(token, "{ slaSummary { severity state count } }");
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0]));
  for (const row of data.slaSummary) if (row.state === "BREACHED" && row.severity in counts) counts[row.severity] += row.count;
  return counts;
}

async function shownCounts(page) {
  return page.evaluate((severities) => {
    const counts = {};
    for (const s of severities) counts[s] = Number(document.querySelector(`.count[data-severity="${s}"] .n`)?.dataset.breached);
    return counts;
  }, SEVERITIES);
}

// The trend chart's series: per severity, its number of points and its last value.
async function trendSeries(page) {
  return page.evaluate((severities) => {
    const series = {};
    for (const s of severities) {
      const line = document.querySelector(`#trend-chart polyline.series[data-severity="${s}"]`);
      series[s] = line ? { points: line.getAttribute("points").trim().split(/\s+/).length, last: Number(line.dataset.last) } : null;
    }
    return series;
  }, SEVERITIES);
}

async function signIn(page, username) {
  await page.goto(base);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForSelector("#dashboard:not([hidden])");
  await page.waitForSelector("body[data-live='true']");
  await page.waitForSelector(".count[data-severity='CRITICAL']");
}

const browser = await launch();
try {
  const { page, problems } = await watchedPage(browser);

  // The security lead: counts as GraphQL has them.
  await signIn(page, "cheery");
  const token = await login("cheery");
  const expected = await breachedBySeverity(token);
  check(JSON.stringify(await shownCounts(page)) === JSON.stringify(expected), "counts equal GraphQL's slaSummary", {
    shown: await shownCounts(page),
    expected,
  });
  const series = await trendSeries(page);
  check(
    SEVERITIES.every((s) => series[s]?.points === 90 && series[s].last === expected[s]),
    "the trend chart has a 90-day series per severity ending at the breach counts",
    { series, expected },
  );
  check((await page.locator("#trend-chart line.target").count()) === 1, "the trend chart draws the zero target line");
  const rows = await page.locator("#findings tbody tr").count();
  const listed = await gql(token, "{ findings(filter: {slaStates: [BREACHED, APPROACHING]}) { totalCount } }");
  check(rows === Math.min(listed.findings.totalCount, 100), "the table lists the breached and approaching findings", {
    rows,
    total: listed.findings.totalCount,
  });

  // A Critical whose one-day deadline passes eight seconds from now, created through GraphQL.
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  const products = await gql(token, "{ products(first: 100) { edges { node { id name } } } }");
  const portal = products.products.edges.find((e) => e.node.name !== "Royal-Bank-Integration").node;
  const title = `Live breach ${Date.now()}`;
  const slaStart = new Date(Date.now() - 24 * 3600 * 1000 + 8000).toISOString();
  await gql(token, "mutation($i: CreateFindingInput!) { createFinding(input: $i) { id } }", {
    i: { productId: portal.id, title, severity: "CRITICAL", slaStart },
  });
  await page.waitForSelector(`#feed li[data-kind='BREACH'] >> text=${title}`, { timeout: 30000 });
  await page.waitForFunction(
    (n) => Number(document.querySelector(`.count[data-severity="CRITICAL"] .n`).dataset.breached) === n,
    expected.CRITICAL + 1,
    { timeout: 15000 },
  );
  check(true, "the live feed shows the breach and the Critical count rose by one", { title });
  await page.waitForFunction(
    (n) => Number(document.querySelector(`#trend-chart polyline.series[data-severity="CRITICAL"]`).dataset.last) === n,
    expected.CRITICAL + 1,
    { timeout: 15000 },
  );
  check(true, "the trend chart's Critical series ends one higher, live");
  const todayTime = await page.locator(`#feed li[data-kind='BREACH']`, { hasText: title }).locator("time").textContent();
  check(/^\d\d:\d\d:\d\d \S+$/.test(todayTime), "today's event shows its time and the time zone", { todayTime });

  // An event of an earlier day (a finding whose SLA started three days ago) shows its date too.
  const oldTitle = `Old breach ${Date.now()}`;
  const oldFinding = await gql(token, "mutation($i: CreateFindingInput!) { createFinding(input: $i) { id } }", {
    i: { productId: portal.id, title: oldTitle, severity: "CRITICAL", slaStart: new Date(Date.now() - 3 * 24 * 3600 * 1000).toISOString() },
  });
  const oldItem = page.locator(`#feed li[data-kind='BREACH']`, { hasText: oldTitle });
  await oldItem.waitFor({ timeout: 30000 });
  const oldTime = await oldItem.locator("time").textContent();
  check(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$/.test(oldTime), "an earlier day's event shows its date and time zone", { oldTime });
  // Out of the counts again, so the ones below compare with the start.
  await gql(token, "mutation($id: ID!) { mitigateFinding(id: $id) { id } }", { id: oldFinding.createFinding.id });
  check(await page.evaluate(() => window.__sameDocument === true), "no reload happened");
  const row = page.locator("#findings tbody tr.BREACHED", { hasText: title });
  check((await row.count()) === 1, "the finding is in the table as breached");
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

  // Mitigating it takes it out of the count and the table, live.
  const created = await gql(token, "{ findings(filter: {search: $t}) { edges { node { id } } } }".replace("$t", JSON.stringify(title)));
  await gql(token, "mutation($id: ID!) { mitigateFinding(id: $id) { id } }", { id: created.findings.edges[0].node.id });
  await page.waitForFunction(
    (n) => Number(document.querySelector(`.count[data-severity="CRITICAL"] .n`).dataset.breached) === n,
    expected.CRITICAL,
    { timeout: 15000 },
  );
  await page.waitForSelector(`#feed li[data-kind='RESOLVED'] >> text=${title}`, { timeout: 15000 });
  check((await row.count()) === 0, "a mitigated finding leaves the count and the table without a reload");

  // The unread alerts as GraphQL counts them; marking them read empties the badge.
  // (Alerts keep arriving from the delivery worker, so compare the two until they agree.)
  let unread = -1;
  let shown = "";
  for (let attempt = 0; attempt < 50 && shown !== String(unread); attempt += 1) {
    if (attempt > 0) await page.waitForTimeout(200);
    unread = (await gql(token, "{ unreadAlertCount }")).unreadAlertCount;
    shown = await page.locator("#unread").textContent();
  }
  check(unread > 0 && shown === String(unread), "the unread badge shows the unread alerts", { unread, shown });
  await page.getByRole("button", { name: /Alerts/ }).click();
  await page.getByRole("button", { name: "Mark all read" }).click();
  await page.waitForFunction(() => document.querySelector("#unread").textContent === "0", null, { timeout: 10000 });
  check((await gql(token, "{ unreadAlertCount }")).unreadAlertCount === 0, "mark all read");

  // Signing out while a refresh is due and another is on its way: neither shows an error, nor puts
  // Cheery's figures back on the signed-out page.
  await page.evaluate(() => {
    scheduleRefresh();
    refresh().catch(showProblem);
    document.querySelector("#sign-out").click();
  });
  await page.waitForTimeout(1000);
  check(
    problems.length === 0 && (await page.locator("#counts > *").count()) === 0,
    "what was pending at sign-out is dropped quietly",
    { problems, counts: await page.locator("#counts > *").count() },
  );

  // Otto reads Royal-Bank-Integration only: nothing of the other products reaches his dashboard.
  await signIn(page, "otto");
  const ottoToken = await login("otto");
  const ottoExpected = await breachedBySeverity(ottoToken);
  check(JSON.stringify(await shownCounts(page)) === JSON.stringify(ottoExpected), "a reader's counts are his products'", {
    shown: await shownCounts(page),
    expected: ottoExpected,
  });
  const productsShown = await page.locator("#findings tbody tr td:first-child").allTextContents();
  check(
    productsShown.every((name) => name === "Royal-Bank-Integration"),
    "a reader's table holds only his product's findings",
    { productsShown },
  );
  const options = await page.locator("#product option").allTextContents();
  check(JSON.stringify(options) === JSON.stringify(["All products", "Royal-Bank-Integration"]), "a reader's product list", {
    options,
  });
  check((await page.locator("#feed li", { hasText: title }).count()) === 0, "a reader's feed has no other product's event");
  check(problems.length === 0, "no script errors or CSP violations", { problems });
} finally {
  await browser.close();
}
