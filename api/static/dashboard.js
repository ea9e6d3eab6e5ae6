// cryptoetl dashboard: pipeline health from /stats and an asset's price per source from /assets/<id>/history.
// Plain JavaScript, no build step; every request goes to this API, each one paged or bounded, so the page
// stays fast however large the database is. Prices arrive as exact JSON numbers; a chart needs no more
// than a double's precision.
"use strict";

const COLORS = { coingecko: "#2e7d32", coinpaprika: "#1565c0", csv: "#ef6c00" };
const ASSETS_SHOWN = 100; // the picker lists the first assets; the symbol box finds any other
const POINTS = 1000; // per series, the newest

const $ = (id) => document.getElementById(id);
let plot = null;

async function api(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(`${path}: ${body.message || response.status}`);
  return body.data;
}

function ago(iso) {
  if (!iso) return "never";
  return `${duration((Date.now() - Date.parse(iso)) / 1000)} ago`;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const units = [["d", 86400], ["h", 3600], ["min", 60]];
  for (const [unit, size] of units) if (seconds >= size) return `${Math.floor(seconds / size)} ${unit}`;
  return `${Math.round(seconds)} s`;
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
}

async function showSources() {
  const stats = await api("stats?runs=1");
  $("generated").textContent = `as of ${new Date(stats.generated_at).toLocaleString()}`;
  const body = $("sources").tBodies[0];
  body.replaceChildren();
  for (const source of stats.sources) {
    const row = body.insertRow();
    const run = source.last_run;
    cell(row, source.source);
    cell(row, source.state.replace("_", " "), source.state);
    cell(row, run ? `#${run.run_id} ${run.status}` : "–");
    cell(row, run ? ago(run.finished_at) : "–");
    cell(row, source.records_loaded.toLocaleString(), "number");
    cell(row, ago(source.last_success_at));
    cell(row, duration(source.freshness_lag_s));
    cell(row, String(source.consecutive_failures), "number");
  }
  const diverging = stats.diverging_assets;
  $("diverging").textContent = diverging
    ? `${diverging} asset(s) priced more than the allowed spread apart by two sources`
    : "No asset's sources disagree on price.";
  $("diverging").className = diverging ? "diverging" : "muted";
}

// Lists the assets and selects the one most sources feed (the first of them): the richest chart to start on.
function fillPicker(assets) {
  const select = $("asset");
  select.replaceChildren(
    ...assets.map((asset) => new Option(`${asset.symbol} — ${asset.name || ""} (#${asset.asset_id})`, asset.asset_id))
  );
  const fed = (asset) => asset.sources.filter((listing) => listing.price_usd !== null).length;
  const richest = assets.reduce((best, asset) => (best === null || fed(asset) > fed(best) ? asset : best), null);
  if (richest) select.value = richest.asset_id;
}

function describe(asset) {
  const listings = asset.sources
    .filter((listing) => listing.price_usd !== null)
    .map((listing) => `${listing.source} ${listing.price_usd} USD`);
  const divergence = asset.divergence ? ` — sources diverge by ${asset.divergence.spread_pct}%` : "";
  $("listings").textContent = `Latest: ${listings.join(", ") || "no price yet"}${divergence}`;
  $("listings").className = asset.divergence ? "diverging" : "muted";
}

// One x axis for every source (the union of their times), each series null where it has no point.
function aligned(series) {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => Date.parse(p.t) / 1000)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = series.map((s) => {
    const column = new Array(times.length).fill(null);
    for (const point of s.points) column[index.get(Date.parse(point.t) / 1000)] = point.price_usd;
    return column;
  });
  return [times, ...columns];
}

async function showAsset() {
  const id = $("asset").value;
  if (!id) return;
  const interval = $("interval").value;
  const [asset, history] = await Promise.all([
    api(`assets/${id}`),
    api(`assets/${id}/history?interval=${interval}&limit=${POINTS}`),
  ]);
  describe(asset);
  const data = aligned(history.series);
  const options = {
    title: `${history.symbol} — ${history.name || ""} (USD)`,
    width: $("chart").clientWidth || 900,
    height: 360,
    // A source with few points (a daily API snapshot next to a long CSV history) shows them as dots.
    series: [{}, ...history.series.map((s) => ({
      label: s.source,
      stroke: COLORS[s.source] || "#555",
      width: 2,
      spanGaps: true,
      points: { show: s.points.length < 60, size: 7, fill: COLORS[s.source] || "#555" },
    }))],
    axes: [{}, { size: 80 }],
  };
  if (plot) plot.destroy();
  plot = new uPlot(options, data, $("chart"));
  // What was drawn, for people reading the page and for the browser test.
  const chart = $("chart");
  chart.dataset.assetId = id;
  chart.dataset.series = String(history.series.length);
  chart.dataset.points = String(data.slice(1).reduce((sum, column) => sum + column.filter((v) => v !== null).length, 0));
}

async function findSymbol(event) {
  event.preventDefault();
  const symbol = $("symbol").value.trim();
  const path = symbol ? `assets?symbol=${encodeURIComponent(symbol)}&limit=20` : `assets?limit=${ASSETS_SHOWN}`;
  fillPicker(await api(path));
  await showAsset();
}

function report(error) {
  $("error").textContent = String(error.message || error);
}

async function start() {
  $("picker").addEventListener("submit", (event) => findSymbol(event).catch(report));
  $("asset").addEventListener("change", () => showAsset().catch(report));
  $("interval").addEventListener("change", () => showAsset().catch(report));
  const [assets] = await Promise.all([api(`assets?limit=${ASSETS_SHOWN}`), showSources()]);
  fillPicker(assets);
  await showAsset();
}

start().catch(report);
