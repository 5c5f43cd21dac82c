// The PostgreSQL cluster of the RADIUS scenarios (radius-two-nodes), made once on the host:
// initdb took 114 s in the guest under TCG at load 11, and the database with FreeRADIUS's
// schemas 15 s more; on the host both take seconds. The guest unpacks it into its tmpfs and
// starts it there (scenarios/helpers/freeradius.sh). One gzip'd tar, not a directory: `cp -a`
// of the cluster's thousand files over 9p took 70 s at load 10. Rebuilt when a schema changes.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const SCHEMAS = [
  '/etc/freeradius/3.0/mods-config/sql/main/postgresql/schema.sql',
  '/etc/freeradius/3.0/mods-config/sql/ippool/postgresql/schema.sql',
];
// 1 MB WAL segments (default 16): less to copy over 9p in the guest.
const INITDB = [
  '-U',
  'postgres',
  '-A',
  'trust',
  '-N',
  '--locale=C',
  '-E',
  'UTF8',
  '--wal-segsize=1',
];

/**
 * Returns a .tar.gz of `data/`, the data directory of a stopped PostgreSQL 15 cluster (superuser `postgres`, trust
 * authentication, owned by the `postgres` user) with the database `radius` holding FreeRADIUS's
 * main and ippool schemas, making it first if needed.
 */
export function preparePostgres(cacheDir, log) {
  const hash = createHash('sha256');
  for (const f of SCHEMAS) hash.update(readFileSync(f));
  hash.update(INITDB.join(' '));
  const out = join(cacheDir, `postgres-15-radius-${hash.digest('hex').slice(0, 12)}.tar.gz`);
  if (existsSync(out)) return out;
  if (userInfo().uid !== 0) throw new Error('making the PostgreSQL cluster needs root (setpriv)');

  log(`lab: making the PostgreSQL cluster ${out}`);
  // Under /tmp: the postgres user cannot reach a repository under /root.
  const stage = mkdtempSync(join(tmpdir(), 'lab-postgres-'));
  const ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
  chownSync(
    stage,
    Number(ids),
    Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
  );
  const asPostgres = (cmd, args) =>
    execFileSync(
      'setpriv',
      ['--reuid=postgres', '--regid=postgres', '--clear-groups', cmd, ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
      },
    );
  const data = join(stage, 'data');
  const ctl = (action) =>
    asPostgres(`${PG_BIN}/pg_ctl`, [
      '-D',
      data,
      '-w',
      '-l',
      join(stage, 'log'),
      '-o',
      `-k ${stage} -c listen_addresses=`,
      ...(action === 'stop' ? ['-m', 'fast'] : []),
      action,
    ]);
  try {
    asPostgres(`${PG_BIN}/initdb`, ['-D', data, ...INITDB]);
    ctl('start');
    try {
      const psql = (args) =>
        execFileSync(
          'psql',
          ['-h', stage, '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q', ...args],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
      psql(['-c', 'CREATE DATABASE radius']);
      psql(['-d', 'radius', ...SCHEMAS.flatMap((f) => ['-f', f])]);
      // Its 7.5 MB need not cross 9p: the lab uses `radius` only.
      psql(['-d', 'radius', '-c', 'DROP DATABASE postgres']);
    } finally {
      ctl('stop');
    }
    // Owners and modes kept: root unpacks it in the guest for the postgres user.
    execFileSync('tar', ['-C', stage, '-czf', `${out}.new`, 'data']);
    renameSync(`${out}.new`, out);
  } catch (err) {
    const detail = err.stderr ? `: ${String(err.stderr).trim()}` : '';
    throw new Error(`cannot make the PostgreSQL cluster (${err.message.split('\n')[0]})${detail}`, {
      cause: err,
    });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return out;
}
