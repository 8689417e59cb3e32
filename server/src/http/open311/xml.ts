/** The GeoReport v2 XML shapes: a root element holding one element per item, fields as children. */
/** A flat record: scalar fields, or lists (written as their items' text). */
type Item = object;

const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>';

/** Characters XML 1.0 cannot carry at all (C0 controls other than tab, newline, return). */
function isXmlChar(ch: string): boolean {
  const code = ch.charCodeAt(0);
  return code >= 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

export function escapeXml(text: string): string {
  return Array.from(text)
    .filter(isXmlChar)
    .join('')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function field(name: string, value: unknown): string {
  if (Array.isArray(value)) {
    return value.length ? `<${name}>${value.map(String).map(escapeXml).join('')}</${name}>` : `<${name}/>`;
  }
  if (value === null || value === undefined || value === '') return `<${name}/>`;
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

function element(name: string, item: Item): string {
  return `<${name}>${Object.entries(item)
    .map(([k, v]) => field(k, v))
    .join('')}</${name}>`;
}

/** `<root><item>…</item>…</root>` with the XML declaration. */
export function xmlList(root: string, itemName: string, items: readonly Item[]): string {
  return `${XML_DECLARATION}\n<${root}>${items.map((i) => element(itemName, i)).join('')}</${root}>\n`;
}

/** One element as the document's root. */
export function xmlDocument(root: string, item: Item): string {
  return `${XML_DECLARATION}\n${element(root, item)}\n`;
}
