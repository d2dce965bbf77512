// Shared by the pages' scripts: the page's words and number formats.
export const words = JSON.parse(document.getElementById("page-words")?.textContent || "{}");
const lang = words.lang === "en" ? "en-US" : "id-ID";
const counts = new Intl.NumberFormat(lang, { maximumFractionDigits: 0 });

// The same formats as the server's (saksi.web.i18n): 1.234.567 and 52,34% in Indonesian.
export function count(value) {
  return value === null || value === undefined ? "–" : counts.format(value);
}

export function percent(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const text = (value * 100).toFixed(2) + "%";
  return words.lang === "en" ? text : text.replace(".", ",");
}

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}
