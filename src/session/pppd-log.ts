// What a session's pppd tells us in its log lines (logfd 2) that the daemon has no other way
// to learn: the user it authenticated and the remote address IPCP settled on (RADIUS's
// Framed-IP-Address overrides ours). Pure. pppd 2.4.9 names the user only for PAP ("PAP peer
// authentication succeeded for NAME", a notice); a CHAP or MS-CHAP success is logged without
// the name (only `debug` shows the Response's name), so those sessions' user stays unknown.
export type PppdLogFact = { user: string } | { remoteAddress: string };

const AUTHENTICATED = /peer authentication succeeded for (.+)$/;
const REMOTE_ADDRESS = /^remote IP address (\d{1,3}(?:\.\d{1,3}){3})$/;

export function parsePppdLine(line: string): PppdLogFact | undefined {
  const text = line.trim();
  const auth = AUTHENTICATED.exec(text);
  if (auth !== null) return { user: unquote(auth[1]) };
  const address = REMOTE_ADDRESS.exec(text);
  if (address !== null) return { remoteAddress: address[1] };
  return undefined;
}

/** pppd's %q: quoted with backslash escapes only when the name needs it. */
function unquote(name: string): string {
  if (name.length < 2 || !name.startsWith('"') || !name.endsWith('"')) return name;
  return name.slice(1, -1).replace(/\\(.)/g, '$1');
}
