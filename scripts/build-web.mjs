// Builds the account page into dist/web: index.html, assets/{app.js,styles.css,favicon.svg}.
// web/app.ts imports latchkey/client from source; esbuild bundles it into one small ES module.
// Type checking is `tsc -p web/tsconfig.json` (part of `npm run build`).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/web/`;

rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}assets`, { recursive: true });

const result = await build({
  entryPoints: [`${root}web/app.ts`],
  outfile: `${out}assets/app.js`,
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

copyFileSync(`${root}web/index.html`, `${out}index.html`);
copyFileSync(`${root}web/styles.css`, `${out}assets/styles.css`);
copyFileSync(`${root}web/favicon.svg`, `${out}assets/favicon.svg`);

const bytes = result.metafile.outputs['dist/web/assets/app.js']?.bytes ?? Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes;
console.log(`account page: dist/web (app.js ${bytes ?? '?'} bytes)`);
