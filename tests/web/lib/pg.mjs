// A throwaway PostgreSQL cluster for web_e2e_postgres (as tests/api/pg.py makes one for the API
// tests): initdb into a temp dir, postgres on a free 127.0.0.1 port with its socket in that
// dir, fsync off, run as the `postgres` OS user when we are root (initdb refuses root). Ready
// when its log says so; stopped by its PID (SIGINT: fast shutdown), also mid-test: that is the
// store failure of the PostgreSQL variant.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { track, untrack } from './procs.mjs';

const READY = /database system is ready to accept connections/;
const START_MS = 60_000;

function binDir() {
  if (process.env.COSTS_PG_BIN) return process.env.COSTS_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)) : [];
  versions.sort((a, b) => Number(a) - Number(b));
  const dir = versions.length ? path.join(root, versions.at(-1), 'bin') : null;
  if (!dir || !fs.existsSync(path.join(dir, 'initdb'))) {
    throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (scripts/install-deps installs them)');
  }
  return dir;
}

function osUser() {
  if (process.getuid() !== 0) return {};
  const line = spawnSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).stdout.trim();
  if (!line) throw new Error('running as root needs the `postgres` OS user (from the postgresql package)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

const STOP_MS = 30_000;

// Whether `promise` settles within `ms` (a bound on a wait for an event, not a sleep).
async function within(promise, ms) {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

export class PgCluster {
  constructor() {
    this.bin = binDir();
    this.user = osUser();
  }

  // A directory of its own (the test's is private to root, and postgres runs as `postgres`).
  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'costs-web-pg-'));
    this.data = path.join(this.dir, 'data');
    if (this.user.uid !== undefined) fs.chownSync(this.dir, this.user.uid, this.user.gid);
    const p = spawnSync(path.join(this.bin, 'initdb'), ['-D', this.data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8',
                                                        '--locale=C', '--no-sync'],
                        { ...this.user, cwd: this.dir, encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`initdb failed (exit ${p.status}): ${p.stdout}${p.stderr}`);
    this.port = await freePort();
    await this.startServer();
    this.psql('CREATE DATABASE web', 'postgres');
    this.url = `postgresql://postgres@127.0.0.1:${this.port}/web`;
    return this;
  }

  // Starts postgres and resolves once its log says it accepts connections.
  startServer() {
    this.child = spawn(path.join(this.bin, 'postgres'),
                       ['-D', this.data, '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1',
                        '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'timezone=UTC'],
                       { ...this.user, cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    track(this.child, 'SIGINT');
    this.log = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`postgres not ready within ${START_MS} ms:\n${this.log}`)), START_MS);
      this.child.stderr.setEncoding('utf8');
      this.child.stderr.on('data', (chunk) => {
        this.log += chunk;
        if (READY.test(this.log)) { clearTimeout(timer); resolve(); }
      });
      this.child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`postgres exited (${code}):\n${this.log}`)); });
    });
  }

  // Fast shutdown by PID; resolves when it has exited. A postgres that does not exit within
  // STOP_MS gets the immediate shutdown (SIGQUIT), then SIGKILL: the test never hangs on it.
  async stopServer() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    for (const sig of ['SIGINT', 'SIGQUIT', 'SIGKILL']) {
      process.kill(child.pid, sig);
      if (await within(gone, STOP_MS)) break;
      console.log(`postgres (pid ${child.pid}) did not exit within ${STOP_MS} ms of ${sig}`);
    }
    untrack(child);
  }

  async remove() {
    await this.stopServer();
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  psql(sql, db = 'web') {
    const p = spawnSync(path.join(this.bin, 'psql'), ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres',
                                                      '-d', db, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql],
                        { encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`psql failed (exit ${p.status}): ${sql}\n${p.stderr}`);
    return p.stdout;
  }
}
