// Debian version ordering, as `dpkg --compare-versions` defines it (deb-version(7)): epoch numerically,
// then upstream version and revision, each compared as alternating runs of non-digits (letters before
// non-letters, `~` before everything, even the end) and digits (numerically).

interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

export function parseDebianVersion(text: string): DebianVersion {
  let rest = text.trim();
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    epoch = Number(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  if (hyphen < 0) return { epoch, upstream: rest, revision: '' };
  return { epoch, upstream: rest.slice(0, hyphen), revision: rest.slice(hyphen + 1) };
}

function order(char: string | undefined): number {
  if (char === undefined) return 0;
  if (char === '~') return -1;
  if (/[A-Za-z]/.test(char)) return char.charCodeAt(0);
  return char.charCodeAt(0) + 256;
}

function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit run, character by character.
    while ((i < a.length && !/\d/.test(a[i]!)) || (j < b.length && !/\d/.test(b[j]!))) {
      const ca = i < a.length && !/\d/.test(a[i]!) ? a[i] : undefined;
      const cb = j < b.length && !/\d/.test(b[j]!) ? b[j] : undefined;
      const diff = order(ca) - order(cb);
      if (diff !== 0) return diff;
      if (ca !== undefined) i += 1;
      if (cb !== undefined) j += 1;
    }
    // Digit run, numerically.
    let na = '';
    let nb = '';
    while (i < a.length && /\d/.test(a[i]!)) na += a[i++];
    while (j < b.length && /\d/.test(b[j]!)) nb += b[j++];
    const diff = Number(na || '0') - Number(nb || '0');
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** <0, 0, >0 as `a` sorts before, equal to, or after `b` in dpkg's ordering. */
export function compareDebianVersions(a: string, b: string): number {
  const va = parseDebianVersion(a);
  const vb = parseDebianVersion(b);
  return (
    va.epoch - vb.epoch || comparePart(va.upstream, vb.upstream) || comparePart(va.revision, vb.revision)
  );
}
