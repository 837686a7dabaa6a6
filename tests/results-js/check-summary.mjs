// Opens a report (report.html) in headless Chromium (playwright-core driving Debian's /usr/bin/chromium) from disk
// (file://), as a person would, and prints what its opening summary shows as JSON:
//   firstSection: the heading of the first section after the run header; models: each row of the perplexity table
//   (model, role, perplexity and "vs baseline" cells as shown); matchings: each feature-matching sentence with its
//   analysis, training and significance attributes; grid: the layer grid image's natural size and whether it
//   decoded; pairs: the strongest-pair links (with the feature-card links beside them); pair: the two sides of
//   the page the first link opens (each card's feature, or the side's message when no card exists).
// Screenshots go to OUT_DIR (summary.png: the summary section; summary-pair.png: the page the first link opens).
// Usage: node check-summary.mjs REPORT_HTML OUT_DIR
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [report, out] = process.argv.slice(2);
if (!report || !out) {
  console.error("usage: node check-summary.mjs REPORT_HTML OUT_DIR");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.SWEEP_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const result = {};
try {
  const context = await browser.newContext({ viewport: { width: 1500, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

  await page.goto(pathToFileURL(report).href);
  await page.waitForSelector("#summary");
  await page.waitForFunction(() => Array.from(document.images).every((i) => i.complete));
  Object.assign(result, await page.evaluate(() => {
    const summary = document.querySelector("#summary");
    const grid = summary.querySelector("figure.layer-grid img");
    return {
      firstSection: document.querySelector("h2")?.textContent ?? null,
      models: Array.from(summary.querySelectorAll("table.summary-models tr[data-model]")).map((r) => ({
        model: r.dataset.model, role: r.dataset.role,
        perplexity: r.querySelector("td.perplexity").textContent,
        versus: r.lastElementChild.textContent,
      })),
      matchings: Array.from(summary.querySelectorAll("p.matching")).map((p) => ({
        analysis: p.dataset.analysis, training: p.dataset.training, significant: p.dataset.significant === "true", text: p.textContent,
      })),
      grid: grid ? { width: grid.naturalWidth, height: grid.naturalHeight, shown: grid.getBoundingClientRect().width } : null,
      pairs: Array.from(summary.querySelectorAll("ul.best-pairs a.pair")).map((a) => ({
        analysis: a.closest("ul").dataset.analysis, href: a.getAttribute("href"), text: a.textContent,
        cardA: a.parentElement.querySelector("a.card-a")?.getAttribute("href") ?? null,
        cardB: a.parentElement.querySelector("a.card-b")?.getAttribute("href") ?? null,
      })),
    };
  }));
  await page.locator("#summary").screenshot({ path: join(out, "summary.png") });

  const first = page.locator("#summary ul.best-pairs a.pair").first();
  if (await first.count()) {
    await first.click();
    await page.waitForSelector("#pair-cards .side-by-side");
    await page.waitForFunction(() => document.querySelectorAll("#pair-cards .side").length === 2);
    result.pair = await page.evaluate(() => Array.from(document.querySelectorAll("#pair-cards .side")).map((s) => {
      const card = s.querySelector("article.card");
      return card ? { feature: Number(card.dataset.feature) } : { message: s.textContent };
    }));
    await page.screenshot({ path: join(out, "summary-pair.png"), fullPage: true });
  }
  result.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
