// Builds the dashboard into OUT_DIR: assets/main.<hash>.js and assets/main.<hash>.css (esbuild,
// minified, content-hashed names) and index.html (src/index.html with the two names filled in).
// Usage: node build.mjs OUT_DIR [NODE_MODULES_DIR]
// NODE_MODULES_DIR: where esbuild and chart.js are installed when not in web/node_modules (the
// CMake build installs into its build folder, so a clean clone has no web/node_modules).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [outDir, nodeModules] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node build.mjs OUT_DIR [NODE_MODULES_DIR]');
  process.exit(2);
}
const out = resolve(outDir);
// esbuild from NODE_MODULES_DIR when given (resolved as if required from a file inside it), else
// from web/node_modules.
const requireFrom = createRequire(nodeModules ? join(resolve(nodeModules), 'build.cjs') : import.meta.url);
const { build } = requireFrom('esbuild');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: [join(here, 'src/main.js'), join(here, 'src/style.css')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  outdir: join(out, 'assets'),
  entryNames: '[name].[hash]',
  nodePaths: nodeModules ? [resolve(nodeModules)] : [],
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const names = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint) names[basename(meta.entryPoint)] = 'assets/' + basename(file);
}
const html = readFileSync(join(here, 'src/index.html'), 'utf8')
  .replace('{{main.js}}', '/' + names['main.js'])
  .replace('{{style.css}}', '/' + names['style.css']);
if (html.includes('{{')) throw new Error('index.html has an unfilled placeholder');
writeFileSync(join(out, 'index.html'), html);
