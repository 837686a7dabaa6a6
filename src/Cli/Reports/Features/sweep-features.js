// Sweep's feature pages (docs/reports.md, "Feature pages"): an index of one site's features and a card per feature.
// Data arrive as <script src> files that call SweepFeatures.index(...) and SweepFeatures.cards(...): scripts load
// from file:// where fetch() is refused, so a report opened from disk works offline. Every text from the data is put
// into the page with textContent, never as HTML.
(function () {
  "use strict";
  const S = (window.SweepFeatures = window.SweepFeatures || {});
  const sites = {}, chunks = {}, pending = {};
  const PAGE = 100;

  S.index = function (key, site) { sites[key] = site; };
  S.cards = function (key, chunk, cards) {
    (chunks[key] = chunks[key] || {})[chunk] = cards;
  };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function fmt(value, digits) {
    if (value === null || value === undefined) return "—";
    if (value === 0) return "0";
    if (value === Infinity) return "∞";
    const abs = Math.abs(value);
    if (abs >= 1e5 || abs < 1e-3) return value.toExponential(digits === undefined ? 3 : digits - 1);
    return Number(value.toPrecision(digits === undefined ? 4 : digits)).toString();
  }

  function loadScript(src) {
    if (pending[src]) return pending[src];
    pending[src] = new Promise(function (resolve, reject) {
      const script = el("script", { src: src });
      script.onload = resolve;
      script.onerror = function () { delete pending[src]; reject(new Error("could not load " + src)); };
      document.head.append(script);
    });
    return pending[src];
  }

  async function cardOf(key, feature) {
    const site = sites[key];
    if (!site) throw new Error("no feature data for " + key);
    if (!(feature >= 0 && feature < site.width)) throw new Error("feature " + feature + " is outside 0.." + (site.width - 1));
    const chunk = Math.floor(feature / site.chunk);
    if (!(chunks[key] && chunks[key][chunk])) await loadScript(site.dir + "/cards-" + chunk + ".js");
    return chunks[key][chunk][feature] || null;
  }
  S.cardOf = cardOf;

  // ---- the card ----

  function statsTable(site, card) {
    const rows = [
      ["tokens", card.n], ["fired", card.fired], ["frequency", fmt(card.freq)], ["mean", fmt(card.mean)],
      ["max", fmt(card.max)], ["mean when active", fmt(card.meanActive)],
    ];
    return el("table", { class: "stats" }, ...rows.map(([name, value]) => el("tr", {}, el("th", { text: name }), el("td", { text: String(value) }))));
  }

  function histogram(card) {
    // Log-spaced bins (bin b >= 1 covers [10^(-6+(b-1)/10), 10^(-6+b/10))): one bar per bin from the lowest to the highest non-empty.
    const bins = card.hist;
    const box = el("figure", { class: "histogram" });
    if (!bins.length) { box.append(el("figcaption", { text: "never fired" })); return box; }
    const first = bins[0][0], last = bins[bins.length - 1][0];
    const counts = new Map(bins);
    const top = Math.max(...bins.map((b) => b[1]));
    const width = 12, height = 80, svgNs = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("width", String((last - first + 1) * width));
    svg.setAttribute("height", String(height));
    for (let b = first; b <= last; b++) {
      const count = counts.get(b) || 0;
      const h = count === 0 ? 0 : Math.max(1, Math.round((height * count) / top));
      const rect = document.createElementNS(svgNs, "rect");
      rect.setAttribute("x", String((b - first) * width));
      rect.setAttribute("y", String(height - h));
      rect.setAttribute("width", String(width - 1));
      rect.setAttribute("height", String(h));
      const title = document.createElementNS(svgNs, "title");
      title.textContent = "[" + fmt(lower(b)) + ", " + fmt(upper(b)) + "): " + count;
      rect.append(title);
      svg.append(rect);
    }
    box.append(svg, el("figcaption", { text: "activations when firing, log scale: " + fmt(lower(first)) + " … " + fmt(upper(last)) }));
    return box;
  }
  function lower(bin) { return bin === 0 ? 0 : Math.pow(10, -6 + (bin - 1) / 10); }
  function upper(bin) { return bin === 101 ? Infinity : Math.pow(10, -6 + bin / 10); }

  function context(example, max) {
    const line = el("div", { class: "context", "data-seq": example.seq, "data-pos": example.pos, "data-activation": example.act });
    line.append(el("span", { class: "act", text: fmt(example.act, 3) }));
    const tokens = el("span", { class: "tokens" });
    example.texts.forEach(function (text, i) {
      const act = example.acts[i];
      const strength = max > 0 ? Math.min(1, act / max) : 0;
      const span = el("span", {
        class: "tok" + (example.start + i === example.pos ? " hot" : "") + (act > 0 ? " fires" : ""),
        "data-activation": act, title: "pos " + (example.start + i) + ": " + fmt(act, 3),
        text: text,
      });
      if (act > 0) span.style.backgroundColor = "rgba(255, 128, 0, " + (0.15 + 0.85 * strength).toFixed(3) + ")";
      tokens.append(span);
    });
    line.append(tokens, el("span", { class: "where", text: "seq " + example.seq + " pos " + example.pos }));
    return line;
  }

  function partners(site, title, list) {
    const box = el("div", { class: "partners" }, el("h4", { text: title }));
    if (!list.length) { box.append(el("p", { class: "none", text: "none" })); return box; }
    const table = el("table", {}, el("tr", {}, el("th", { text: "feature" }), el("th", { text: "value" }), el("th", { text: "fire together" })));
    for (const [partner, value, both] of list)
      table.append(el("tr", {}, el("td", {}, el("a", { href: site.page + "#feature=" + partner, class: "partner", text: String(partner) })),
        el("td", { text: fmt(value) }), el("td", { text: String(both) })));
    box.append(table);
    return box;
  }

  function logits(title, list) {
    const box = el("div", { class: "logits" }, el("h4", { text: title }));
    if (!list.length) { box.append(el("p", { class: "none", text: "—" })); return box; }
    const table = el("table", {});
    for (const [text, effect] of list) table.append(el("tr", {}, el("td", {}, el("code", { text: text })), el("td", { text: fmt(effect) })));
    box.append(table);
    return box;
  }

  function renderCard(key, feature, card) {
    const site = sites[key];
    const box = el("article", { class: "card", id: "card-" + site.slug + "-" + feature, "data-feature": feature });
    const heading = el("h2", { text: "Feature " + feature }, el("span", { class: "site", text: " " + site.model + " " + site.site }));
    box.append(heading);
    if (site.neuronpedia) box.append(el("p", {}, el("a", { class: "neuronpedia", href: "https://www.neuronpedia.org/" + site.neuronpedia + "/" + feature, text: "Neuronpedia: " + site.neuronpedia + "/" + feature })));
    if (!card) { box.append(el("p", { text: "No statistics stored for this feature." })); return box; }
    box.append(el("div", { class: "row" }, statsTable(site, card), histogram(card)));
    box.append(el("h3", { text: "Top activations" }));
    const top = el("div", { class: "contexts top" });
    for (const example of card.top) top.append(context(example, card.max));
    if (!card.top.length) top.append(el("p", { class: "none", text: "never fired" }));
    box.append(top);
    if (card.samples.length) {
      box.append(el("h3", { text: "Random samples by activation stratum" }));
      const samples = el("div", { class: "contexts samples" });
      let stratum = -1;
      for (const example of card.samples) {
        if (example.stratum !== stratum) {
          stratum = example.stratum;
          samples.append(el("h4", { text: "activation in [" + fmt(example.lo) + ", " + fmt(example.hi === null ? Infinity : example.hi) + ")" }));
        }
        samples.append(context(example, card.max));
      }
      box.append(samples);
    }
    if (card.corr || card.jacc)
      box.append(el("div", { class: "row" }, partners(site, "Co-active by correlation", card.corr || []), partners(site, "Co-active by Jaccard", card.jacc || [])));
    if (card.up || card.down)
      box.append(el("div", { class: "row" }, logits("Promoted tokens", card.up || []), logits("Suppressed tokens", card.down || [])));
    return box;
  }

  async function showCard(key, feature, into, message) {
    message.textContent = "";
    try {
      const card = await cardOf(key, feature);
      into.replaceChildren(renderCard(key, feature, card));
    } catch (error) {
      message.textContent = error.message;
    }
  }
  S.showCard = showCard;

  // ---- the index page of one site ----

  S.featurePage = function (key) {
    const site = sites[key];
    const index = document.getElementById("feature-index");
    const card = document.getElementById("feature-card");
    const message = document.getElementById("search-message");
    const input = document.getElementById("feature-search");
    const columns = [["feature", 0], ["fired", 1], ["frequency", 2], ["max", 3], ["mean when active", 4]];
    let order = site.features.slice();
    let sortColumn = 0, descending = false, page = 0;

    function sortBy(column) {
      descending = sortColumn === column ? !descending : column !== 0;
      sortColumn = column;
      order = site.features.slice().sort(function (x, y) {
        const a = x[column] === null ? -Infinity : x[column], b = y[column] === null ? -Infinity : y[column];
        return (descending ? b - a : a - b) || x[0] - y[0];
      });
      page = 0;
      draw();
    }

    function draw() {
      const table = el("table", { class: "index" });
      const head = el("tr", {});
      for (const [name, column] of columns) {
        const button = el("button", { type: "button", class: "sort", "data-column": name, text: name + (sortColumn === column ? (descending ? " ▼" : " ▲") : "") });
        button.addEventListener("click", function () { sortBy(column); });
        head.append(el("th", {}, button));
      }
      table.append(head);
      for (const row of order.slice(page * PAGE, (page + 1) * PAGE)) {
        const link = el("a", { href: "#feature=" + row[0], text: String(row[0]) });
        table.append(el("tr", { "data-feature": row[0] }, el("td", {}, link), el("td", { text: String(row[1]) }),
          el("td", { text: fmt(row[2]) }), el("td", { text: fmt(row[3]) }), el("td", { text: fmt(row[4]) })));
      }
      const pages = Math.max(1, Math.ceil(order.length / PAGE));
      const pager = el("div", { class: "pager" });
      const previous = el("button", { type: "button", text: "◀ previous" });
      const next = el("button", { type: "button", text: "next ▶" });
      previous.disabled = page === 0;
      next.disabled = page >= pages - 1;
      previous.addEventListener("click", function () { page--; draw(); });
      next.addEventListener("click", function () { page++; draw(); });
      pager.append(previous, el("span", { text: " page " + (page + 1) + " of " + pages + " " }), next);
      index.replaceChildren(pager, table);
    }

    function fromHash() {
      const match = /feature=(\d+)/.exec(window.location.hash);
      if (match) showCard(key, Number(match[1]), card, message);
    }

    function search() {
      const feature = Number(input.value);
      if (input.value === "" || !Number.isInteger(feature)) { message.textContent = "type a feature number"; return; }
      if (window.location.hash === "#feature=" + feature) showCard(key, feature, card, message);
      else window.location.hash = "feature=" + feature;
    }

    document.getElementById("feature-go").addEventListener("click", search);
    input.addEventListener("keydown", function (event) { if (event.key === "Enter") search(); });
    window.addEventListener("hashchange", fromHash);
    draw();
    fromHash();
  };

  // ---- matched pairs side by side ----

  S.pairPage = function (pairs) {
    const list = document.getElementById("pair-index");
    const view = document.getElementById("pair-cards");
    const message = document.getElementById("search-message");
    const table = el("table", { class: "index" }, el("tr", {}, el("th", { text: "feature A" }), el("th", { text: "feature B" }), el("th", { text: "correlation" })));
    pairs.pairs.forEach(function ([a, b, r], i) {
      const link = el("a", { href: "#pair=" + i, text: a + " ~ " + b });
      table.append(el("tr", {}, el("td", {}, link), el("td", { text: String(b) }), el("td", { text: fmt(r) })));
    });
    list.replaceChildren(table);
    async function side(key, feature) {
      const box = el("div", { class: "side" });
      if (!key || !sites[key]) { box.append(el("p", { text: "No feature statistics for this site in this run (add a features analysis)." })); return box; }
      try { box.append(renderCard(key, feature, await cardOf(key, feature))); } catch (error) { box.append(el("p", { text: error.message })); }
      return box;
    }
    async function fromHash() {
      const match = /pair=(\d+)/.exec(window.location.hash);
      if (!match || !pairs.pairs[Number(match[1])]) return;
      const [a, b] = pairs.pairs[Number(match[1])];
      message.textContent = "";
      view.replaceChildren(el("div", { class: "side-by-side" }, await side(pairs.a, a), await side(pairs.b, b)));
    }
    window.addEventListener("hashchange", fromHash);
    fromHash();
  };
})();
