// Drives the operator console in a real browser (the system's chromium, headless, through playwright-core) against a
// running `pipeline demo --stay`, for tests/Pipeline.Tests/Console/ConsoleBrowserTests.cs. Prints one JSON object
// with what it saw and did; the C# test checks the labels topic itself.
//
//   node drive-console.js --operator-url URL --viewer-url URL [--screenshots DIR] [--browser /usr/bin/chromium]
//       the live page shows an anomaly with its image and one with its map and regions drawn over it; "False alarm / good"
//       on it; every page; a viewer's refusals
//   node drive-console.js --operator-url URL --swap rollback|promote:VERSION
//       on the models page: the button, the confirmation, until the scoring node reports serving the new version
"use strict";
const path = require("path");
const { chromium } = require("playwright-core");

function argument(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at >= 0 && at + 1 < process.argv.length) return process.argv[at + 1];
  if (fallback !== undefined) return fallback;
  throw new Error(`--${name} is required`);
}

const operatorUrl = argument("operator-url");
const swap = argument("swap", "");
const viewerUrl = swap ? "" : argument("viewer-url");
const screenshots = argument("screenshots", "");
const executablePath = argument("browser", process.env.CHROMIUM || "/usr/bin/chromium");
const patience = Number(argument("timeout-ms", "60000"));

async function shoot(page, name) {
  if (!screenshots) return;
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: false });
}

// Rollback or promote from the models page, then wait until the node serving reports the version now current.
async function swapVersion(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(patience);
  const dialogs = [];
  page.on("dialog", dialog => { dialogs.push(dialog.message()); dialog.accept(); });
  await page.goto(operatorUrl);
  await page.waitForFunction(() => document.body.dataset.feed === "ready");
  await page.getByRole("button", { name: "Models" }).click();
  await page.locator("#versions tbody tr[data-version]").first().waitFor();
  if (swap === "rollback") {
    await page.getByRole("button", { name: "Roll back to previous" }).click();
  } else {
    const version = swap.slice("promote:".length);
    await page.locator(`#versions tbody tr[data-version="${version}"]`).getByRole("button", { name: "Promote" }).click();
  }
  await page.locator("#model-action", { hasText: "current version is now" }).waitFor();
  const said = await page.locator("#model-action").textContent();
  const [, current, was] = /current version is now (\S+) \(was (\S+)\)/.exec(said);
  await page.waitForFunction(version => [...document.querySelectorAll("#nodes tbody tr")].some(row => row.cells[2]?.textContent === version), current);
  await page.locator("#versions tbody tr[data-version] .tag.current").first().waitFor();
  if (screenshots) await shoot(page, `console-models-after-${swap.replace(":", "-")}`);
  process.stdout.write(JSON.stringify({ said, current, was, dialogs, serving: await page.locator("#nodes tbody tr").evaluateAll(rows => rows.map(r => r.cells[2].textContent)) }) + "\n");
  await context.close();
}

async function main() {
  if (swap) {
    const browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
    try { await swapVersion(browser); } finally { await browser.close(); }
    return;
  }
  const browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  const report = {};
  try {
    // An operator logs in with the link and labels an anomaly as a false alarm.
    const operator = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await operator.newPage();
    page.setDefaultTimeout(patience);
    page.on("dialog", dialog => dialog.accept());
    await page.goto(operatorUrl);
    await page.waitForFunction(() => document.body.dataset.feed === "ready");
    report.address_after_login = page.url();
    report.cookie = (await operator.cookies()).map(c => ({ name: c.name, http_only: c.httpOnly, same_site: c.sameSite }));
    const loaded = await page.waitForFunction(() => {
      const card = [...document.querySelectorAll("#anomalies .card")].find(c => { const i = c.querySelector("img"); return i.complete && i.naturalWidth > 0; });
      return card ? { frame_id: card.dataset.frameId, width: card.querySelector("img").naturalWidth, camera: card.querySelector(".camera").textContent } : null;
    });
    report.anomaly_with_image = await loaded.jsonValue();
    report.anomalies_shown = await page.locator("#anomalies .card").count();
    // The screenshot waits (a little) for the first cards' images: each is one read from the frames topic.
    await page.waitForFunction(() => [...document.querySelectorAll("#anomalies .card img")].slice(0, 6).every(i => i.complete && i.naturalWidth > 0), null, { timeout: 20000 }).catch(() => {});
    // An anomaly's map drawn over its image: the canvas has painted pixels, and a box per region of its result.
    const drawn = await page.waitForFunction(() => {
      const card = [...document.querySelectorAll("#anomalies .card")].find(c => c.dataset.map === "drawn");
      if (!card) return null;
      const canvas = card.querySelector(".map canvas");
      const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
      return { frame_id: card.dataset.frameId, painted_pixels: painted, region_boxes: card.querySelectorAll(".map .region").length, product: card.querySelector(".product").textContent };
    });
    report.map_drawn = await drawn.jsonValue();
    report.map_drawn.regions_in_result = await page.evaluate(async frameId => {
      const s = await (await fetch("/console/state")).json();
      return (s.anomalies.find(a => a.frame_id === frameId)?.regions ?? []).length;
    }, report.map_drawn.frame_id);
    await shoot(page, "console-live");
    const card = page.locator(`#anomalies .card[data-frame-id="${report.anomaly_with_image.frame_id}"]`);
    await card.getByRole("button", { name: "False alarm / good" }).click();
    await card.locator(".sent", { hasText: "sent:" }).waitFor();
    report.labelled = { frame_id: report.anomaly_with_image.frame_id, said: await card.locator(".sent").textContent() };
    await page.locator("#training", { hasText: "Training holds" }).waitFor();
    report.training_line = await page.locator("#training").textContent();

    await page.getByRole("button", { name: /Review queue/ }).click();
    await page.waitForFunction(() => [...document.querySelectorAll("#review .card img")].slice(0, 6).every(i => i.complete && i.naturalWidth > 0), null, { timeout: 20000 }).catch(() => {});
    await shoot(page, "console-review");
    report.review_shown = await page.locator("#review .card").count();
    await page.getByRole("button", { name: "Models" }).click();
    await page.locator("#versions tbody tr[data-version]").first().waitFor();
    report.registry_versions = await page.locator("#versions tbody tr[data-version]").evaluateAll(rows => rows.map(r => r.dataset.version));
    await shoot(page, "console-models");
    await page.getByRole("button", { name: "Health" }).click();
    await page.locator("#members tbody tr").first().waitFor();
    await page.locator("#cameras tbody tr").first().waitFor();
    report.members = await page.locator("#members tbody tr").count();
    report.cameras = await page.locator("#cameras tbody tr").count();
    await shoot(page, "console-health");

    // A viewer sees the same page; its buttons are off and the node refuses its writes.
    const viewer = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const seeing = await viewer.newPage();
    seeing.setDefaultTimeout(patience);
    await seeing.goto(viewerUrl);
    await seeing.waitForFunction(() => document.body.dataset.feed === "ready" && document.querySelector("#anomalies .card") !== null);
    report.viewer_label_buttons_enabled = await seeing.locator("#anomalies .card .actions button:enabled").count();
    report.viewer_label_status = await seeing.evaluate(async frameId => (await fetch("/console/labels", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ frame_id: frameId, label: "good" }),
    })).status, report.anomaly_with_image.frame_id);
    report.viewer_promote_status = await seeing.evaluate(async () => (await fetch("/models/v1/promote", { method: "POST" })).status);
    report.viewer_rollback_status = await seeing.evaluate(async () => (await fetch("/models/rollback", { method: "POST" })).status);

    // Without credentials: the API answers 401 and the page says how to log in.
    const stranger = await browser.newContext();
    const origin = new URL(operatorUrl).origin;
    report.anonymous_state_status = (await stranger.request.get(`${origin}/console/state`)).status();
    const nobody = await stranger.newPage();
    const answer = await nobody.goto(`${origin}/`);
    report.anonymous_page_status = answer.status();
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(report) + "\n");
}

main().catch(error => {
  process.stderr.write(`drive-console.js: ${error.stack || error}\n`);
  process.exit(1);
});
