/** The Citygrid mark: a rounded square cut by a grid, drawn inline so nothing is fetched. */
const SVG_NS = 'http://www.w3.org/2000/svg';

export function brandMark(size: number): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 32 32');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('class', 'brand-mark');
  svg.setAttribute('aria-hidden', 'true');
  svg.innerHTML =
    '<defs><linearGradient id="cg-mark" x1="0" y1="0" x2="1" y2="1">' +
    '<stop offset="0" stop-color="#38bdf8"/><stop offset="1" stop-color="#6366f1"/></linearGradient></defs>' +
    '<rect x="2" y="2" width="28" height="28" rx="7" fill="url(#cg-mark)"/>' +
    '<path d="M11.5 2v28M20.5 2v28M2 11.5h28M2 20.5h28" stroke="#0b1220" stroke-opacity=".55" stroke-width="1.6"/>' +
    '<circle cx="20.5" cy="11.5" r="3.2" fill="#fff"/>';
  return svg;
}
