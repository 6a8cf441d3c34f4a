// Installs tests/web's npm dependencies (playwright-core, axe-core) exactly as package-lock.json
// pins them, with `npm ci`, when node_modules is missing or was installed from another lock file.
// Needs the npm registry only then. Run by CTest (web_e2e_deps) and by run_e2e.mjs.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const STAMP = path.join(HERE, 'node_modules', '.costs-lock-sha256');

export function ensureDeps() {
  const lock = crypto.createHash('sha256').update(fs.readFileSync(path.join(HERE, 'package-lock.json'))).digest('hex');
  let stamp = '';
  try { stamp = fs.readFileSync(STAMP, 'utf8').trim(); } catch { /* not installed yet */ }
  if (stamp === lock) return false;
  const p = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: HERE, encoding: 'utf8' });
  if (p.status !== 0) {
    throw new Error(`npm ci in ${HERE} failed (exit ${p.status}, ${p.error ?? ''}):\n${p.stdout}${p.stderr}`);
  }
  fs.writeFileSync(STAMP, lock + '\n');
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    console.log(ensureDeps() ? 'tests/web: npm ci done' : 'tests/web: node_modules up to date');
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
