// Region pages: live figures without reloading, sortable tables and the map.
import { count, element, percent, words } from "./common.js";
import { start as startMap } from "./region-map.js";

const POLL_SECONDS = 5;
const dataUrl = document.querySelector('meta[name="saksi-data"]')?.content;

function share(figures, choice) {
  return figures.valid ? (figures.choices[choice] || 0) / figures.valid : null;
}

function reporting(figures) {
  return figures.tps_total ? figures.tps_reported / figures.tps_total : null;
}

// The value a data-live key names, from a totals or child document.
function valueOf(figures, key) {
  if (key.startsWith("choices.")) return figures.choices[key.slice(8)] ?? 0;
  if (key.startsWith("share.")) return share(figures, key.slice(6));
  if (key === "reporting") return reporting(figures);
  return figures[key];
}

function fill(scope, figures) {
  for (const node of scope.querySelectorAll("[data-live]")) {
    const key = node.dataset.live;
    const format = node.dataset.format;
    if (!format) continue;
    const value = valueOf(figures, key);
    node.textContent = format === "percent" ? percent(value) : count(value);
    if (node.dataset.sort !== undefined) node.dataset.sort = String(value ?? 0);
  }
  for (const meter of scope.querySelectorAll("meter[data-meter]")) {
    const value = share(figures, meter.dataset.meter) || 0;
    meter.value = value;
    meter.setAttribute("aria-label", `${meter.dataset.meter} ${percent(value)}`);
  }
}

function leaderText(page) {
  const names = Object.fromEntries(page.choice_names.map((c) => [c.id, c.name]));
  const ranked = Object.entries(page.totals.choices).sort((a, b) => b[1] - a[1]);
  if (!ranked.length || ranked[0][1] <= 0) return words.no_result;
  const margin = ranked[0][1] - (ranked.length > 1 ? ranked[1][1] : 0);
  return `${words.leader}: ${ranked[0][0]} · ${names[ranked[0][0]] || ""}, ` +
    `${words.lead_by} ${count(margin)} ${words.votes.toLowerCase()}`;
}

function lastMinuteText(last) {
  if (!last || last.log_size <= 0) return words.last_minute_none;
  const parts = [`+${count(last.tps_reported)} ${words.new_tps}`];
  for (const [choice, delta] of Object.entries(last.choices)) parts.push(`${choice} +${count(delta)}`);
  return parts.join(", ");
}

function setText(selector, text) {
  const node = document.querySelector(selector);
  if (node) node.textContent = text;
}

let lastSize = null;

function show(page) {
  const summary = document.getElementById("summary");
  if (summary) fill(summary, page.totals);
  setText('[data-live="leader"]', leaderText(page));
  setText('[data-live="last_update"]', page.last_update || "–");
  if (page.checkpoint) {
    setText('[data-live="checkpoint"]', `${count(page.checkpoint.size)} ${words.entries}, ${page.checkpoint.time}`);
  }
  setText('[data-live="last_minute"]', lastMinuteText(page.last_minute));
  const table = document.querySelector('[data-live-scope="children"]');
  if (table) {
    for (const child of page.children) {
      const row = table.querySelector(`tr[data-region="${CSS.escape(child.region.id)}"]`);
      if (row) fill(row, child);
    }
  }
  if (lastSize !== null && page.log_size !== lastSize) {
    setText("#live-status", `${words.live_updated} ${new Date().toLocaleTimeString(words.lang === "en" ? "en-GB" : "id-ID")}`);
  }
  lastSize = page.log_size;
  document.dispatchEvent(new CustomEvent("saksi:page", { detail: page }));
}

async function poll() {
  if (document.hidden) {  // a tab in the background asks for nothing
    setTimeout(poll, POLL_SECONDS * 1000);
    return;
  }
  try {
    const response = await fetch(dataUrl, { headers: { Accept: "application/json" } });
    if (response.ok) show(await response.json());
  } catch {
    // offline for a moment: the next poll tries again
  }
  setTimeout(poll, POLL_SECONDS * 1000);
}

// Sortable tables: each header becomes a button; aria-sort tells screen readers.
function sortable(table) {
  const headers = [...table.tHead.rows[0].cells];
  headers.forEach((header, column) => {
    const button = element("button", { type: "button", class: "sort" }, ...header.childNodes);
    header.append(button);
    button.addEventListener("click", () => {
      const ascending = header.getAttribute("aria-sort") !== "ascending";
      headers.forEach((h) => h.removeAttribute("aria-sort"));
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const numeric = header.dataset.type === "number";
      const body = table.tBodies[0];
      const rows = [...body.rows];
      const key = (row) => row.cells[column].dataset.sort ?? row.cells[column].textContent;
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        const order = numeric ? Number(x) - Number(y) : String(x).localeCompare(String(y));
        return ascending ? order : -order;
      });
      body.append(...rows);
    });
  });
}

document.querySelectorAll("table.sortable").forEach(sortable);
if (document.querySelector(".map-body svg")) startMap(dataUrl);
if (dataUrl) poll();
