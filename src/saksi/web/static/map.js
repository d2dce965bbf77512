// map.js: colours the map drawn by saksi.web.geo.svg() and builds its legend.
// colourMap(svg, children, mode, pair, options) -> scale
//   Each path.province of svg takes the child (region document: {region: {id}, choices:
//   {id: votes}, valid, turnout, tps_reported, tps_total}) whose region.id is its
//   data-region. mode: "leader" | "share" (of choice `pair` in valid votes) | "turnout" |
//   "reporting". options: {choices: ids in ballot order, names: {id: label}, locale}.
//   Sets per path: style.fill, data-value (0..1 or absent), classes "tie" and "nodata",
//   <title> text and aria-label ("Bali: 01 66,0%").
//   Returns {mode, steps: [{kind: "value" | "tie" | "nodata", colour, label}]}.
// legend(container, scale): puts <ul class="map-legend"><li><span class="swatch KIND"
//   aria-hidden="true"></span> label</li>...</ul> in container (KIND: step.kind).
// choiceColour(index): a choice's colour (index in ballot order), also for bar charts.
// Colours are set via the CSSOM, which a style-src 'self' CSP allows.

// Okabe–Ito (colour-blind safe); yellow and black suit a white page least.
const CHOICES = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000"];
// Light to dark: the order reads without hues.
const SEQUENTIAL = ["#f3efc9", "#bcdfae", "#6fbba3", "#38889f", "#2a4a83"];
const GREY = { tie: "#8a8a8a", nodata: "#d9d9d9" };
const WORDS = {
  id: { nodata: "belum ada data", tie: "seri", turnout: "partisipasi", reporting: "TPS masuk" },
  en: { nodata: "no data yet", tie: "tie", turnout: "turnout", reporting: "TPS reporting" },
};

export function choiceColour(index) {
  return CHOICES[index % CHOICES.length];
}

const ratio = (part, whole) =>
  typeof part === "number" && whole > 0 ? part / whole : null;

// Five equal bins on round percentages.
function bins(values) {
  const lo = Math.min(...values) * 100;
  const hi = Math.max(...values) * 100;
  for (const step of [0.2, 0.5, 1, 2, 2.5, 5, 10]) {
    const start = Math.floor(lo / step) * step;
    if (start + 5 * step >= hi) return { start, step };
  }
  return { start: 0, step: 20 };
}

function figureOf(mode, child, pair, choices) {
  const votes = child.choices || {};
  if (mode === "share") return { value: ratio(votes[pair], child.valid) };
  if (mode === "turnout") return { value: ratio(child.turnout, 1) };
  if (mode === "reporting") return { value: ratio(child.tps_reported, child.tps_total) };
  const top = Math.max(0, ...Object.values(votes));
  if (top === 0) return { value: null };
  const leaders = Object.keys(votes).filter((id) => votes[id] === top);
  if (leaders.length > 1) return { value: null, tie: leaders };
  const [id] = leaders;
  if (!choices.includes(id)) choices.push(id);
  const total = child.valid || Object.values(votes).reduce((a, b) => a + b, 0);
  return { value: top / total, id, index: choices.indexOf(id) };
}

export function colourMap(svg, children, mode, pair, options = {}) {
  const locale = options.locale || svg.closest("[lang]")?.lang || "id";
  const words = WORDS[locale.startsWith("en") ? "en" : "id"];
  const percent = (min) => new Intl.NumberFormat(locale,
    { style: "percent", minimumFractionDigits: min, maximumFractionDigits: 1 }).format;
  const names = options.names || {};
  const label = (id) => names[id] || id;
  const byId = new Map(children.map((c) => [c.region.id, c]));
  const choices = options.choices ? [...options.choices]
    : [...new Set(children.flatMap((c) => Object.keys(c.choices || {})))].sort();
  const paths = [...svg.querySelectorAll("path.province")];
  const figures = paths.map((path) => {
    const child = byId.get(path.dataset.region);
    return child ? figureOf(mode, child, pair, choices) : { value: null };
  });
  const steps = [];
  let colourOf = (f) => choiceColour(f.index);
  if (mode === "leader") {
    choices.forEach((id, i) => steps.push({ kind: "value", colour: choiceColour(i), label: label(id) }));
  } else {
    const values = figures.map((f) => f.value).filter((v) => v !== null);
    if (values.length) {
      const { start, step } = bins(values);
      const edge = (k) => percent(0)((start + k * step) / 100);
      colourOf = (f) => SEQUENTIAL[Math.max(0, Math.min(4, Math.floor((f.value * 100 - start) / step)))];
      SEQUENTIAL.forEach((colour, k) => steps.push({ kind: "value", colour, label: `${edge(k)}–${edge(k + 1)}` }));
    }
  }
  const prefix = mode === "share" ? label(pair) : words[mode];
  const seen = new Set();
  paths.forEach((path, i) => {
    const figure = figures[i];
    const kind = figure.tie ? "tie" : figure.value === null ? "nodata" : "value";
    seen.add(kind);
    path.style.fill = kind === "value" ? colourOf(figure) : GREY[kind];
    for (const k of ["tie", "nodata"]) path.classList.toggle(k, kind === k);
    if (kind === "value") path.dataset.value = figure.value;
    else delete path.dataset.value;
    const detail = kind === "tie" ? `${words.tie} ${figure.tie.map(label).join(" = ")}`
      : kind === "nodata" ? words.nodata
      : `${mode === "leader" ? label(figure.id) : prefix} ${percent(1)(figure.value)}`;
    const text = `${path.dataset.name || path.dataset.code}: ${detail}`;
    const title = path.querySelector("title");
    if (title) title.textContent = text;
    path.setAttribute("aria-label", text);
  });
  for (const kind of ["tie", "nodata"]) if (seen.has(kind)) steps.push({ kind, colour: GREY[kind], label: words[kind] });
  return { mode, steps };
}

export function legend(container, scale) {
  const list = document.createElement("ul");
  list.className = "map-legend";
  for (const step of scale.steps) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch ${step.kind}`;
    swatch.setAttribute("aria-hidden", "true");
    swatch.style.backgroundColor = step.colour;
    item.append(swatch, ` ${step.label}`);
    list.append(item);
  }
  container.replaceChildren(list);
}
