// The `radius:` and `dae:` blocks of l2tpd.yaml: RADIUS servers for sections with
// `ppp.auth: radius` (pppd's radius.so talks to them) and the Dynamic Authorization server
// (RFC 5176) in the daemon. Secrets come from the YAML (then the config file must be 0600)
// or from a 0600 file read through the injected `readSecretFile`; they are never printed.
import type { Checker, Fields, Located } from './checker.js';
import { parseAddress } from './address.js';
import {
  DAE_PORT,
  DEFAULTS,
  RADIUS_ACCT_PORT,
  RADIUS_AUTH_PORT,
  type DaeConfig,
  type RadiusConfig,
  type RadiusServer,
} from './schema.js';

/** Reads a secret file: its first line, or why it cannot be used (unreadable, not 0600). */
export type SecretFileReader = (
  file: string,
) => { ok: true; text: string } | { ok: false; error: string };

/** radiusclient (pppd's radius.so) keeps at most 48 octets of a secret and splits lines on blanks. */
const MAX_RADIUS_SECRET = 48;

/**
 * Acct-Interim-Interval in seconds: "MUST NOT be smaller than 60" (RFC 2869 §5.16), and
 * radius.so raises a smaller one to 60; it keeps the value in a C int.
 */
const MIN_INTERIM_INTERVAL = 60;
const MAX_INTERIM_INTERVAL = 2_147_483_647;

export function readRadius(
  c: Checker,
  v: Located,
  hostname: string,
  readSecretFile: SecretFileReader,
): RadiusConfig | null {
  if (v.node === null) return null;
  const d = DEFAULTS.radius;
  const f = c.fields(v, [
    'auth',
    'acct',
    'secret',
    'secretFile',
    'nasIdentifier',
    'nasIpAddress',
    'timeout',
    'retries',
    'interimInterval',
  ]);
  if (f === null) return null;
  const auth = servers(c, f.get('auth'), RADIUS_AUTH_PORT);
  if (auth.length === 0 && f.get('auth').node === null) {
    c.error(
      f.get('auth').at,
      f.get('auth').path,
      "needs at least one server ('address' or 'address:port')",
    );
  }
  const acctAt = f.get('acct');
  const acct =
    acctAt.node === null
      ? auth.map((s) => ({ host: s.host, port: RADIUS_ACCT_PORT }))
      : servers(c, acctAt, RADIUS_ACCT_PORT);
  const secret = readSecret(c, f, readSecretFile);
  if (/\s/.test(secret) || secret.length > MAX_RADIUS_SECRET) {
    c.error(
      (f.has('secret') ? f.get('secret') : f.get('secretFile')).at,
      `${v.path}.secret`,
      `must be 1 to ${MAX_RADIUS_SECRET} characters without blanks (pppd's radius client reads no more)`,
    );
  }
  const nasIpAt = f.get('nasIpAddress');
  const nasIpAddress = c.string(nasIpAt, null);
  if (nasIpAddress !== null && parseAddress(nasIpAddress)?.family !== 4) {
    c.error(nasIpAt.at, nasIpAt.path, `'${nasIpAddress}' is not an IPv4 address`);
  }
  const timeout = c.duration(f.get('timeout'), d.timeout, 1000);
  if (timeout % 1000 !== 0) {
    c.error(
      f.get('timeout').at,
      f.get('timeout').path,
      'must be whole seconds (radiusclient counts in seconds)',
    );
  }
  return {
    auth,
    acct,
    secret,
    secretFile: c.string(f.get('secretFile'), null),
    nasIdentifier: c.string(f.get('nasIdentifier'), hostname),
    nasIpAddress,
    timeout,
    retries: c.int(f.get('retries'), d.retries, 1, 10),
    interimInterval:
      f.get('interimInterval').node === null
        ? null
        : c.int(f.get('interimInterval'), 0, MIN_INTERIM_INTERVAL, MAX_INTERIM_INTERVAL),
  };
}

export function readDae(
  c: Checker,
  v: Located,
  readSecretFile: SecretFileReader,
): DaeConfig | null {
  if (v.node === null) return null;
  const f = c.fields(v, ['listen', 'clients', 'secret', 'secretFile', 'duplicateWindow']);
  if (f === null) return null;
  const listenAt = f.get('listen');
  const text = c.string(listenAt, `0.0.0.0:${DAE_PORT}`);
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(text);
  const address = match?.[1] ?? match?.[2] ?? '';
  const parsed = parseAddress(address);
  const port = match?.[3] === undefined ? DAE_PORT : Number(match[3]);
  if (match === null || parsed === null || port < 1 || port > 65_535) {
    c.error(
      listenAt.at,
      listenAt.path,
      `'${text}' is not 'address[:port]' (IPv6: '[address]:port')`,
    );
  }
  const clientsAt = f.get('clients');
  const clients = c.ranges(clientsAt);
  if (clients.length === 0) {
    c.error(clientsAt.at, clientsAt.path, 'needs at least one client address or range');
  }
  return {
    listen: { address, family: parsed?.family ?? 4, port },
    clients,
    secret: readSecret(c, f, readSecretFile),
    secretFile: c.string(f.get('secretFile'), null),
    duplicateWindow: c.duration(f.get('duplicateWindow'), DEFAULTS.dae.duplicateWindow, 1000),
  };
}

function servers(c: Checker, v: Located, defaultPort: number): RadiusServer[] {
  const out: RadiusServer[] = [];
  for (const item of c.list(v, "RADIUS servers ('address' or 'address:port')")) {
    const text = c.string(item, null);
    if (text === null) continue;
    const match = /^([^:]+)(?::(\d{1,5}))?$/.exec(text);
    const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
    if (match === null || parseAddress(match[1])?.family !== 4 || port < 1 || port > 65_535) {
      c.error(
        item.at,
        item.path,
        `'${text}' is not 'IPv4-address' or 'IPv4-address:port' (pppd's radius client speaks IPv4 only)`,
      );
      continue;
    }
    out.push({ host: match[1], port });
  }
  return out;
}

/** `secret` or `secretFile`, exactly one. */
function readSecret(c: Checker, f: Fields, readSecretFile: SecretFileReader): string {
  const inline = f.get('secret');
  const file = f.get('secretFile');
  if (inline.node !== null && file.node !== null) {
    c.error(file.at, file.path, "give 'secret' or 'secretFile', not both");
    return '';
  }
  if (inline.node !== null) return c.string(inline, '');
  const path = c.string(file, null);
  if (path === null) {
    c.error(f.self, f.path, "needs 'secret' or 'secretFile' (a file readable by its owner only)");
    return '';
  }
  const read = readSecretFile(path);
  if (!read.ok) {
    c.error(file.at, file.path, read.error);
    return '';
  }
  if (read.text === '') c.error(file.at, file.path, `${path} is empty`);
  return read.text;
}
