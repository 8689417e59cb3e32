/**
 * Build step for the field app's service worker: bundles `src/field/sw.ts` to `field/sw.js` (so its
 * scope is `/field/`) and prepends to it the list of files the app shell needs — the field entry
 * page, every chunk and asset it loads, including the lazily loaded map — and a version derived
 * from their names. A new release changes the names, so the worker's bytes change and browsers
 * install it; the old caches are dropped on activation.
 */
import { createHash } from 'node:crypto';
import type { Plugin } from 'vite';

const SW_SOURCE = 'src/field/sw.ts';
const SW_FILE = 'field/sw.js';
const FIELD_HTML = 'field/index.html';
/** Files copied from public/field that the shell also needs. */
const PUBLIC_FILES = ['/field/manifest.webmanifest', '/field/icon.svg'];
/** The global sw.ts reads `{ version, files }` from; the build prepends its assignment. */
const GLOBAL = '__FIELD_PRECACHE__';

interface OutputChunkLike {
  type: 'chunk';
  fileName: string;
  code: string;
  facadeModuleId?: string | null;
  imports: string[];
  dynamicImports: string[];
  viteMetadata?: { importedCss: Set<string>; importedAssets: Set<string> };
}
interface OutputAssetLike {
  type: 'asset';
  fileName: string;
  source: string | Uint8Array;
}

export function fieldServiceWorker(): Plugin {
  let swRef = '';
  return {
    name: 'citygrid-field-service-worker',
    apply: 'build',
    // After Vite's HTML plugin has put the entry pages into the bundle.
    enforce: 'post',
    buildStart() {
      swRef = this.emitFile({ type: 'chunk', id: SW_SOURCE, fileName: SW_FILE });
    },
    generateBundle(_options, bundle) {
      const items = bundle as unknown as Record<string, OutputChunkLike | OutputAssetLike>;
      const sw = items[SW_FILE];
      if (sw?.type !== 'chunk') {
        this.error(`the field service worker (${SW_FILE}, ref ${swRef}) is not in the bundle`);
      }
      const chunks = Object.values(items).filter((i): i is OutputChunkLike => i.type === 'chunk');
      const entry = chunks.find((c) => c.facadeModuleId?.endsWith('/field/index.html') ?? false);
      const html = items[FIELD_HTML];
      if (!entry || !html) {
        this.error(
          `the field entry (field/index.html) is not in the bundle: ${Object.keys(items).join(', ')} / ${chunks.map((c) => c.facadeModuleId).join(', ')}`,
        );
      }
      // Everything reachable from the field entry, static and dynamic imports alike.
      const files = new Set<string>();
      const visit = (fileName: string) => {
        if (files.has(fileName)) return;
        const item = items[fileName];
        if (item?.type !== 'chunk') return;
        files.add(fileName);
        for (const css of item.viteMetadata?.importedCss ?? []) files.add(css);
        for (const asset of item.viteMetadata?.importedAssets ?? []) files.add(asset);
        for (const next of [...item.imports, ...item.dynamicImports]) visit(next);
      };
      visit(entry.fileName);
      // Workers and other assets the chunks reference by URL (e.g. maplibre's worker script).
      for (const asset of Object.values(items)) {
        if (asset.type !== 'asset' || files.has(asset.fileName) || !asset.fileName.startsWith('assets/'))
          continue;
        const name = asset.fileName.split('/').pop()!;
        if (
          [...files].some(
            (f) => items[f]?.type === 'chunk' && (items[f] as OutputChunkLike).code.includes(name),
          )
        ) {
          files.add(asset.fileName);
        }
      }
      const shell = ['/field/', ...PUBLIC_FILES, ...[...files].sort().map((f) => `/${f}`)];
      const version = createHash('sha256').update(shell.join('\n')).digest('hex').slice(0, 12);
      sw.code = `self.${GLOBAL}=${JSON.stringify({ version, files: shell })};\n${sw.code}`;
    },
  };
}
