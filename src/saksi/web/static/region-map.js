// The map on national and province pages: coloured by map.js from the live figures of
// the provinces (the national page's children), recoloured when the mode changes.
import { colourMap, legend } from "./map.js";
import { words } from "./common.js";

export function start(dataUrl) {
  const svg = document.querySelector(".map-body svg");
  const mode = document.getElementById("map-mode");
  const pair = document.getElementById("map-pair");
  const legendBox = document.getElementById("map-legend");
  let provinces = null;
  let page = null;
  let seenSize = null;

  function paint() {
    if (!provinces || !page) return;
    const options = {
      choices: page.choice_names.map((c) => c.id),
      names: Object.fromEntries(page.choice_names.map((c) => [c.id, `${c.id} · ${c.name}`])),
      locale: words.lang,
    };
    const scale = colourMap(svg, provinces, mode.value, pair.value, options);
    legend(legendBox, scale);
  }

  async function provincesOf(current) {
    if (current.region.level === "nasional") return current.children;
    if (provinces && current.log_size === seenSize) return provinces;  // nothing new
    seenSize = current.log_size;
    // A province page: colour every province from the national figures.
    const query = new URL(dataUrl, location.href).search;
    const response = await fetch("/.json" + query, { headers: { Accept: "application/json" } });
    return response.ok ? (await response.json()).children : null;
  }

  document.addEventListener("saksi:page", async (event) => {
    page = event.detail;
    provinces = await provincesOf(page);
    paint();
  });
  mode.addEventListener("change", paint);
  pair.addEventListener("change", paint);
}
