// The data a browser test makes for itself, with dates derived from now: organizations, users
// with random passwords, and usage NDJSON written to a file and imported with costsctl.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ctl } from './procs.mjs';

const DAY_MS = 86_400_000;

export const EXACT_TOTAL = '12345678.123456789';  // 17 significant digits, exactly one record's cost
export const EXACT_SHOWN = '12,345,678.123456789 ECU';

const DEPLOYMENTS = [
  { id: 'd-search', name: 'search-prod', rate: '0.0913', sku: 'gcp.es.datahot.n2.68x10x45', item: 'Elasticsearch hot 8 GB' },
  { id: 'd-logs', name: 'logs-staging', rate: '0.0457', sku: 'gcp.es.datahot.n2.68x10x45', item: 'Elasticsearch hot 4 GB' },
  { id: 'd-kibana', name: 'kibana-prod', rate: '0.0242', sku: 'gcp.kibana.n2.68x32x45', item: 'Kibana 2 GB' },
];

function password() {
  return crypto.randomBytes(12).toString('base64url');
}

function day(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

function record(id, org, dep, dimension, startMs, endMs, quantity, unit, rate) {
  return JSON.stringify({
    id, organization_id: org, deployment_id: dep.id, deployment_name: dep.name, dimension,
    ...(dimension === 'capacity' ? { kind: 'elasticsearch', instance_count: 1 } : {}),
    sku: dep.sku, name: dimension === 'capacity' ? dep.item : `Data ${dimension}`,
    start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString(),
    quantity, unit, rate, trial: false,
  });
}

// Usage of acme's deployments on each of the 75 days before today (whole days: hours vary per
// deployment and day), data out on some days, and one hour of org "exact" yesterday.
function usage(nowMs) {
  const today = nowMs - (nowMs % DAY_MS);
  const lines = [];
  DEPLOYMENTS.forEach((dep, k) => {
    for (let d = 1; d <= 75; d++) {
      const start = today - d * DAY_MS;
      const hours = String(6 + ((d * (k + 3)) % 19));
      lines.push(record(`e2e-${dep.id}-cap-${d}`, 'acme', dep, 'capacity', start, start + DAY_MS, hours,
                        'instance-hour', dep.rate));
      if (d % 3 === k) {
        lines.push(record(`e2e-${dep.id}-out-${d}`, 'acme', dep, 'data_out', start, start + DAY_MS,
                          `${d}.${k + 1}25`, 'GB', '0.032'));
      }
    }
  });
  const hour = today - DAY_MS + 10 * 3_600_000;
  lines.push(record('e2e-exact-1', 'exact', { id: 'd-exact', name: 'exact-total', sku: 'gcp.es.datahot.n2.68x10x45',
                                               item: 'Elasticsearch hot 8 GB' },
                    'capacity', hour, hour + 3_600_000, '1', 'instance-hour', EXACT_TOTAL));
  return lines.join('\n') + '\n';
}

// Creates everything in the database `dbUrl`; returns the users (name -> password) and the
// deployments of acme.
export function makeDataset(costsctl, dbUrl, dir, nowMs = Date.now()) {
  ctl(costsctl, dbUrl, ['init']);
  ctl(costsctl, dbUrl, ['org', 'create', 'acme', '--name', 'ACME Corp']);
  ctl(costsctl, dbUrl, ['org', 'create', 'exact', '--name', 'Exact Numbers Ltd']);
  const users = { alice: password(), erin: password() };
  ctl(costsctl, dbUrl, ['user', 'create', 'alice', '--org', 'acme', '--org', 'exact', '--password-stdin'],
      users.alice + '\n');
  ctl(costsctl, dbUrl, ['user', 'create', 'erin', '--org', 'acme', '--password-stdin'], users.erin + '\n');
  const file = path.join(dir, 'usage.ndjson');
  fs.writeFileSync(file, usage(nowMs));
  ctl(costsctl, dbUrl, ['usage', 'import', file]);
  return { users, deployments: DEPLOYMENTS, firstDay: day(nowMs - 75 * DAY_MS) };
}
