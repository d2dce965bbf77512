// Accessibility checks the browser tests run in each page (tests/web/test_site.py).

// Text below the WCAG AA contrast ratio (4.5:1; 3:1 for large text).
window.saksiContrastFailures = () => {
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const parse = (text) => (text.match(/[\d.]+/g) || []).map(Number);
  const background = (node) => {
    for (let n = node; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const node of document.querySelectorAll("body *")) {
    const own = [...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
    if (!own || node.closest("svg, noscript, script, .visually-hidden, dialog:not([open])")) continue;
    const style = getComputedStyle(node);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const fg = luminance(parse(style.color).slice(0, 3));
    const bg = luminance(background(node));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) failures.push(`${node.tagName} ${node.textContent.trim().slice(0, 30)} ${ratio.toFixed(2)}`);
  }
  return failures;
};

// Controls, links and images without an accessible name.
window.saksiUnlabelled = () => [...document.querySelectorAll("select, input:not([type=hidden]), button, img, a")]
  .filter((n) => {
    if (n.tagName === "IMG") return !n.hasAttribute("alt");
    const names = [n.getAttribute("aria-label"), n.closest("label")?.textContent, n.textContent,
      n.getAttribute("title"), n.querySelector("img[alt]")?.alt];
    return !names.some((name) => name && name.trim());
  })
  .map((n) => n.outerHTML.slice(0, 80));
