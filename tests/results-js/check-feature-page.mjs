// Opens a report's feature page in headless Chromium (playwright-core driving Debian's /usr/bin/chromium) from
// disk (file://), as a person would, and prints what it found as JSON:
//   load: ms from navigation until the index table is drawn; rows: index rows shown;
//   card: after typing FEATURE in the search box and pressing Enter, the card's heading, its Neuronpedia link, and
//   every top context's highlighted (own) token text, data-activation and background colour, and the count of
//   tokens marked as firing; partner: the card shown after clicking the first co-activation partner link;
//   sorted: the first index rows after sorting by max (descending); pair: with PAIR_PAGE, the two cards of pair 0.
// Screenshots go to OUT_DIR (index.png, card.png, pair.png).
// Usage: node check-feature-page.mjs PAGE_FILE FEATURE OUT_DIR [PAIR_PAGE_FILE]
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [page_, feature, out, pairPage] = process.argv.slice(2);
if (!page_ || !feature || !out) {
  console.error("usage: node check-feature-page.mjs PAGE_FILE FEATURE OUT_DIR [PAIR_PAGE_FILE]");
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

  const started = Date.now();
  await page.goto(pathToFileURL(page_).href);
  await page.waitForSelector("#feature-index table.index tr[data-feature]");
  result.load = Date.now() - started;
  result.rows = await page.locator("#feature-index tr[data-feature]").count();
  await page.screenshot({ path: join(out, "index.png") });

  await page.fill("#feature-search", String(feature));
  await page.press("#feature-search", "Enter");
  await page.waitForSelector(`article.card[data-feature="${feature}"]`);
  result.card = await page.evaluate(() => {
    const card = document.querySelector("article.card");
    return {
      heading: card.querySelector("h2").textContent,
      neuronpedia: card.querySelector("a.neuronpedia")?.getAttribute("href") ?? null,
      top: Array.from(card.querySelectorAll(".contexts.top .context")).map((c) => {
        const hot = c.querySelector(".tok.hot");
        return {
          text: hot.textContent, activation: Number(hot.dataset.activation), background: getComputedStyle(hot).backgroundColor,
          firing: c.querySelectorAll(".tok.fires").length, tokens: c.querySelectorAll(".tok").length,
          window: Array.from(c.querySelectorAll(".tok")).map((t) => t.textContent).join(""),
        };
      }),
      samples: card.querySelectorAll(".contexts.samples .context").length,
      partners: Array.from(card.querySelectorAll("a.partner")).map((a) => a.textContent),
      logits: Array.from(card.querySelectorAll(".logits code")).map((c) => c.textContent),
      histogramBars: card.querySelectorAll(".histogram rect").length,
    };
  });
  await page.screenshot({ path: join(out, "card.png"), fullPage: true });

  const partner = page.locator("a.partner").first();
  if (await partner.count()) {
    const target = await partner.textContent();
    await partner.click();
    await page.waitForSelector(`article.card[data-feature="${target}"]`);
    result.partner = Number(await page.locator("article.card").getAttribute("data-feature"));
  }

  await page.click('button.sort[data-column="max"]');
  result.sorted = await page.locator("#feature-index tr[data-feature]").evaluateAll((rows) => rows.slice(0, 5).map((r) => Number(r.dataset.feature)));

  if (pairPage) {
    await page.goto(pathToFileURL(pairPage).href + "#pair=0");
    await page.waitForSelector("#pair-cards .side-by-side");
    await page.waitForFunction(() => document.querySelectorAll("#pair-cards .side").length === 2);
    result.pair = await page.evaluate(() => Array.from(document.querySelectorAll("#pair-cards .side")).map((s) => {
      const card = s.querySelector("article.card");
      return card ? { feature: Number(card.dataset.feature), hot: card.querySelector(".tok.hot")?.textContent ?? null } : { message: s.textContent };
    }));
    await page.screenshot({ path: join(out, "pair.png"), fullPage: true });
  }
  result.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
