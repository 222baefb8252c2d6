// Bundles the pages with esbuild into dist/ (embedded by package web). No CDN: every
// module comes from node_modules.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';

for (const f of readdirSync('dist')) {
  if (f !== 'BUILD.md') rmSync(`dist/${f}`, { recursive: true, force: true });
}
mkdirSync('dist/assets', { recursive: true });
await esbuild.build({
  entryPoints: { map: 'src/map.js', jobs: 'src/jobs.js' },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'esm',
  target: ['es2020'],
  outdir: 'dist/assets',
  loader: { '.css': 'css' },
  logLevel: 'info',
});
for (const f of ['index.html', 'jobs.html']) copyFileSync(`src/${f}`, `dist/${f}`);
