// The processes a browser test starts: costsctl runs, costsd servers and a SQLite lock holder.
// Each is stopped by its own PID (SIGTERM, then SIGKILL after a bound).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DBLOCK = path.resolve(HERE, '../../api/dblock.py');
const START_MS = 20_000;
const STOP_MS = 10_000;
const LISTEN_RE = /^costsd listening on http:\/\/127\.0\.0\.1:(\d+)\s*$/;

// Every process started and not yet stopped (with the signal that stops it cleanly), so that a
// failing run still stops them all.
const running = new Map();

export function track(child, signal = 'SIGTERM') {
  running.set(child, signal);
}

export function untrack(child) {
  running.delete(child);
}

export function ctl(costsctl, dbUrl, args, input) {
  const p = spawnSync(costsctl, ['--db', dbUrl, ...args], { input, encoding: 'utf8', timeout: 120_000 });
  if (p.status !== 0) {
    throw new Error(`costsctl ${args.join(' ')} failed (exit ${p.status}, ${p.error ?? 'no spawn error'}):\n` +
                    `${p.stdout}${p.stderr}`);
  }
  return p.stdout;
}

// Resolves when `child` has exited, or after `ms` with false.
function exited(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => { clearTimeout(timer); resolve(true); });
  });
}

async function stopChild(child, signal = running.get(child) ?? 'SIGTERM') {
  running.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  process.kill(child.pid, signal);
  if (await exited(child, STOP_MS)) return;
  process.kill(child.pid, 'SIGKILL');
  await exited(child, STOP_MS);
}

export async function stopAll() {
  for (const child of [...running.keys()]) await stopChild(child);
}

// Waits for the first stdout line of `child` (or its exit, or the timeout) and returns it.
function firstLine(child, what) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no first line within ${START_MS} ms`)), START_MS);
    const onData = (chunk) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stdout.resume();  // drain the rest
      resolve(buf.slice(0, nl));
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (code ${code}, signal ${sig}) before its first line; stdout: ${buf}`));
    });
  });
}

export class Costsd {
  constructor(binary, dbUrl, dir, args = []) {
    Object.assign(this, { binary, dbUrl, args });
    this.logPath = path.join(dir, `costsd-${Date.now()}-${Math.floor(Math.random() * 1e6)}.log`);
  }

  async start() {
    const log = fs.openSync(this.logPath, 'w');
    this.child = spawn(this.binary, ['--db', this.dbUrl, '--listen', '127.0.0.1:0', ...this.args],
                       { stdio: ['ignore', 'pipe', log] });
    fs.closeSync(log);
    track(this.child);
    let line;
    try {
      line = await firstLine(this.child, 'costsd');
    } catch (e) {
      await stopChild(this.child);
      throw new Error(`${e.message}\n${this.logTail()}`);
    }
    const m = LISTEN_RE.exec(line);
    if (!m) {
      await stopChild(this.child);
      throw new Error(`costsd printed ${JSON.stringify(line)}, not its listening line\n${this.logTail()}`);
    }
    this.port = Number(m[1]);
    this.base = `http://127.0.0.1:${this.port}`;
    return this;
  }

  get pid() { return this.child.pid; }

  async stop() { await stopChild(this.child); }

  logTail(lines = 30) {
    let text = '';
    try { text = fs.readFileSync(this.logPath, 'utf8'); } catch (e) { return `(no costsd log: ${e.message})`; }
    return `--- costsd log tail (${this.logPath}) ---\n${text.split('\n').slice(-lines).join('\n')}\n--- end ---`;
  }
}

// Holds the SQLite database locked (tests/api/dblock.py: BEGIN EXCLUSIVE, or the WAL-index locks
// while costsd has it open) until release(): every read of costsd then fails.
export async function lockDatabase(dbPath) {
  const child = spawn('python3', ['-B', DBLOCK, dbPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  track(child);
  const line = await firstLine(child, 'dblock.py');
  if (!line.startsWith('LOCKED')) {
    await stopChild(child);
    throw new Error(`dblock.py could not lock ${dbPath}: ${line}`);
  }
  return {
    how: line,
    release: async () => {
      child.stdin.end();  // dblock.py releases on EOF and exits
      if (!(await exited(child, STOP_MS))) await stopChild(child);
      running.delete(child);
    },
  };
}

// Runs SQL on the SQLite database through python3's sqlite3 (a busy timeout: costsd has it open).
export function sqlite(dbPath, sql, params = []) {
  const script = 'import sqlite3,sys,json\n' +
    'c=sqlite3.connect(sys.argv[1],timeout=10)\n' +
    'cur=c.execute(sys.argv[2],json.loads(sys.argv[3]))\n' +
    'c.commit()\nprint(cur.rowcount)\n';
  const p = spawnSync('python3', ['-c', script, dbPath, sql, JSON.stringify(params)], { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`sqlite ${sql} failed: ${p.stderr}`);
  return Number(p.stdout.trim());
}
