// TPS page: the reader's browser checks each source's current form against the signed
// log (verify.js), then shows the numbers decoded from those checked entry bytes.
import { count, element, words } from "./common.js";
import { verifyTps } from "./verify.js";

const sources = JSON.parse(document.getElementById("page-sources").textContent);
const kinds = Object.fromEntries(sources.map((s) => [s.id, s]));

function sourceName(id) {
  const source = kinds[id];
  if (!source) return id;
  return `${source.name} (${words["kind_" + source.kind] || source.kind})`;
}

function badge(state) {
  const text = state === "ok" ? words.verified : words.not_verified;
  return element("span", { class: `status ${state === "ok" ? "ok" : "bad"}` }, text);
}

// Each source's current version: numbers from the verified bytes when there is a proof,
// else the server's numbers, labelled as unchecked.
function columns(doc, result, contest) {
  const out = [];
  for (const form of doc.forms.filter((f) => f.contest === contest)) {
    const current = form.versions.find((v) => v.current);
    if (!current) continue;
    const checked = result.versions.find(
      (v) => v.contest === contest && v.source === form.source && v.leaf_index === current.leaf_index,
    );
    const decoded = checked?.form;
    out.push({
      source: form.source,
      verified: Boolean(checked?.verified && result.supported),
      inCheckpoint: Boolean(checked),
      votes: decoded ? decoded.votes : current.votes,
      fields: decoded ? decoded.fields : current.fields,
    });
  }
  const official = (c) => (kinds[c.source]?.kind === "official" ? 0 : 1);
  return out.sort((a, b) => official(a) - official(b) || a.source.localeCompare(b.source));
}

function compareTable(contest, cols) {
  const choiceIds = [...new Set(cols.flatMap((c) => Object.keys(c.votes || {})))].sort();
  const fieldIds = [...new Set(cols.flatMap((c) => Object.keys(c.fields || {})))].sort();
  const reference = cols.find((c) => kinds[c.source]?.kind === "official" && c.verified);
  const head = element("tr", {}, element("th", { scope: "col" }, words.choice));
  for (const col of cols) {
    const state = col.verified ? "ok" : "bad";
    const th = element("th", { scope: "col", class: "num" + (col.verified ? "" : " unverified") },
      sourceName(col.source), element("br"), badge(state));
    th.dataset.source = col.source;
    head.append(th);
  }
  const body = element("tbody");
  const row = (label, key, pick) => {
    const tr = element("tr", { "data-row": key }, element("th", { scope: "row" }, label));
    for (const col of cols) {
      const value = pick(col);
      const td = element("td", { class: "num", "data-source": col.source }, count(value));
      if (!col.verified) td.classList.add("unverified");
      const expected = reference ? pick(reference) : undefined;
      // An absent field is not a disagreement: that source's form did not carry it.
      if (reference && col !== reference && value !== undefined && expected !== undefined &&
          value !== expected) {
        td.classList.add("diff");
        td.title = words.differs;
      }
      tr.append(td);
    }
    body.append(tr);
  };
  for (const id of choiceIds) row(id, "choice:" + id, (c) => c.votes?.[id]);
  for (const id of fieldIds) row(id, "field:" + id, (c) => c.fields?.[id]);
  return element("table", { class: "compare", "data-contest": contest },
    element("caption", {}, contest), element("thead", {}, head), body);
}

const CHECK_WORDS = {
  entry: "check_entry", leaf: "check_leaf", inclusion: "check_inclusion",
  checkpoint: "check_checkpoint", witness: "check_witness", signature: "check_signature",
  attestation: "check_attestation", key: "check_key",
};

function checkLine(check) {
  const state = check.ok === true ? "ok" : check.ok === false ? "bad" : "unknown";
  const mark = { ok: "✓", bad: "✗", unknown: "?" }[state];
  const verdict = { ok: words.check_ok, bad: words.check_failed, unknown: words.check_skipped }[state];
  let label = words[CHECK_WORDS[check.id]] || check.id;
  if (check.id === "witness" && check.detail?.name) label += ` ${check.detail.name}`;
  if (check.detail?.reason === "not_in_checkpoint") label += ` (${words.not_in_checkpoint})`;
  const li = element("li", { class: state, "data-check": check.id },
    element("span", { class: "mark", "aria-hidden": "true" }, mark), `${label}: `,
    element("strong", {}, verdict));
  if (check.id === "key" && check.ok && check.detail?.chain) {
    const chain = check.detail.chain.map((step) => `${step.type} #${step.leaf_index}`).join(" ← ");
    li.append(element("span", { class: "note" }, ` (${check.detail.role}, ${chain})`));
  }
  return li;
}

function proofCards(doc, result) {
  const container = element("div");
  if (!result.supported) container.append(element("p", { class: "status bad", id: "cannot-verify" }, words.cannot_verify));
  for (const form of doc.forms) {
    const current = form.versions.find((v) => v.current);
    if (!current) continue;
    const checked = result.versions.find(
      (v) => v.contest === form.contest && v.source === form.source && v.leaf_index === current.leaf_index,
    );
    const verified = Boolean(checked?.verified && result.supported);
    const card = element("section", {
      class: "proof-card", "data-source": form.source, "data-contest": form.contest,
      "data-verified": String(verified),
    });
    card.append(element("h3", {}, `${form.contest} · ${sourceName(form.source)} · ${words.leaf} ${current.leaf_index} `,
      badge(verified ? "ok" : "bad")));
    const list = element("ul", { class: "checks" });
    if (checked) checked.checks.forEach((c) => list.append(checkLine(c)));
    else list.append(element("li", { class: "bad" }, words.not_in_checkpoint));
    card.append(list);
    container.append(card);
  }
  return container;
}

async function main() {
  const compare = document.getElementById("compare");
  const proof = document.getElementById("proof");
  let doc;
  try {
    const response = await fetch(location.pathname + ".json", { headers: { Accept: "application/json" } });
    doc = await response.json();
  } catch (error) {
    proof.replaceChildren(element("p", { class: "status bad" }, `${words.not_verified}: ${error}`));
    compare.replaceChildren();
    return;
  }
  const result = await verifyTps(doc);
  const contests = [...new Set(doc.forms.map((f) => f.contest))];
  compare.replaceChildren(...contests.map((contest) => {
    const wrap = element("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": `${words.compare} ${contest}` });
    wrap.append(compareTable(contest, columns(doc, result, contest)));
    return wrap;
  }));
  proof.replaceChildren(proofCards(doc, result));
  document.body.dataset.verification = "done";
}

// Photos open in a dialog where they can be enlarged; Escape closes it.
function photos() {
  const dialog = document.getElementById("photo-dialog");
  if (!dialog) return;
  const image = document.getElementById("photo-zoomed");
  let scale = 1;
  const apply = () => { image.style.width = `${Math.round(scale * 100)}%`; };
  for (const link of document.querySelectorAll("a[data-photo]")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      image.src = link.dataset.photo;
      image.alt = link.querySelector("img")?.alt || "";
      scale = 1;
      apply();
      dialog.showModal();
    });
  }
  dialog.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.dataset.close !== undefined) dialog.close();
    if (target.dataset.zoom === "in") scale = Math.min(scale * 1.5, 8);
    if (target.dataset.zoom === "out") scale = Math.max(scale / 1.5, 0.25);
    apply();
  });
}

photos();
main();
