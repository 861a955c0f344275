// The public half of the chart's GPG key, as users verify `.prov` files with it: the OpenPGP packets of the
// signing key (RFC 9580) with each secret-key packet cut down to its public part (a secret key packet begins
// with the public key packet's fields) and retagged, user IDs and signatures kept as they are, armored. Only
// the key helm signs with (gpg-key-name, matched as helm matches it) is published; never any secret material.
import { createHash } from 'node:crypto';

interface Packet {
  tag: number;
  body: Buffer;
}

const SECRET_KEY = 5;
const PUBLIC_KEY = 6;
const USER_ID = 13;
const SECRET_SUBKEY = 7;
const PUBLIC_SUBKEY = 14;
/** What a transferable public key holds besides its key packets: signatures, user IDs, user attributes. */
const KEPT = new Set([2, USER_ID, 17]);

/** Splits OpenPGP packets (old and new header formats; key packets never use partial lengths). */
export function readPackets(data: Buffer, input: string): Packet[] {
  try {
    return splitPackets(data, input);
  } catch (error) {
    if (error instanceof RangeError)
      throw new Error(`${input}: not OpenPGP packets (a truncated header)`, { cause: error });
    throw error;
  }
}

function splitPackets(data: Buffer, input: string): Packet[] {
  const packets: Packet[] = [];
  let at = 0;
  const fail = (why: string) => new Error(`${input}: not OpenPGP packets (${why} at byte ${at})`);
  while (at < data.length) {
    const header = data[at]!;
    if ((header & 0x80) === 0) throw fail('no packet header');
    let tag: number;
    let length: number;
    let start: number;
    if (header & 0x40) {
      tag = header & 0x3f;
      const first = data[at + 1] ?? 0;
      if (first < 192) [length, start] = [first, at + 2];
      else if (first < 224) [length, start] = [((first - 192) << 8) + (data[at + 2] ?? 0) + 192, at + 3];
      else if (first === 255) [length, start] = [data.readUInt32BE(at + 2), at + 6];
      else throw fail('a partial body length');
    } else {
      tag = (header >> 2) & 0x0f;
      const size = [1, 2, 4][header & 0x03];
      if (size === undefined) throw fail('an indeterminate length');
      length = data.readUIntBE(at + 1, size);
      start = at + 1 + size;
    }
    if (start + length > data.length) throw fail('a packet longer than the data');
    packets.push({ tag, body: data.subarray(start, start + length) });
    at = start + length;
  }
  return packets;
}

function writePacket({ tag, body }: Packet): Buffer {
  const n = body.length;
  const length =
    n < 192
      ? Buffer.from([n])
      : n < 8384
        ? Buffer.from([((n - 192) >> 8) + 192, (n - 192) & 0xff])
        : Buffer.from([255, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([0xc0 | tag]), length, body]);
}

/** Octets of public key material per algorithm, for the fixed-size ones (X25519, X448, Ed25519, Ed448). */
const FIXED: Record<number, number> = { 25: 32, 26: 56, 27: 32, 28: 57 };
/** The fields of each algorithm's v4 public key material, in order. */
const FIELDS: Record<number, Array<'mpi' | 'oid' | 'kdf'>> = {
  1: ['mpi', 'mpi'],
  2: ['mpi', 'mpi'],
  3: ['mpi', 'mpi'],
  16: ['mpi', 'mpi', 'mpi'],
  17: ['mpi', 'mpi', 'mpi', 'mpi'],
  18: ['oid', 'mpi', 'kdf'],
  19: ['oid', 'mpi'],
  22: ['oid', 'mpi'],
};

/** The length of a key packet's public part: version, creation time, algorithm and public key material. */
export function publicLength(body: Buffer, input: string): number {
  const version = body[0];
  const algorithm = body[5]!;
  if (version === 5 || version === 6) return 10 + body.readUInt32BE(6);
  if (version !== 4) throw new Error(`${input}: OpenPGP key version ${version} is not supported (4, 5 or 6)`);
  if (FIXED[algorithm] !== undefined) return 6 + FIXED[algorithm];
  const fields = FIELDS[algorithm];
  if (!fields) throw new Error(`${input}: OpenPGP public key algorithm ${algorithm} is not supported`);
  let at = 6;
  for (const field of fields) {
    if (at >= body.length - (field === 'mpi' ? 1 : 0)) at = Infinity;
    else if (field === 'mpi') at += 2 + Math.ceil(body.readUInt16BE(at) / 8);
    else at += 1 + body[at]!;
  }
  if (at > body.length) throw new Error(`${input}: a truncated OpenPGP key packet`);
  return at;
}

/** A key's fingerprint (v4: SHA-1, v6: SHA-256 of the framed public key packet body), upper-case hex. */
export function fingerprint(publicBody: Buffer): string {
  const v6 = publicBody[0] === 6;
  const frame = Buffer.alloc(v6 ? 5 : 3);
  frame[0] = v6 ? 0x9b : 0x99;
  if (v6) frame.writeUInt32BE(publicBody.length, 1);
  else frame.writeUInt16BE(publicBody.length, 1);
  return createHash(v6 ? 'sha256' : 'sha1')
    .update(Buffer.concat([frame, publicBody]))
    .digest('hex')
    .toUpperCase();
}

/** Transferable keys: each primary key packet with the packets that follow it. */
function keysOf(packets: Packet[], primary: number): Packet[][] {
  const keys: Packet[][] = [];
  for (const packet of packets) {
    if (packet.tag === primary) keys.push([packet]);
    else keys.at(-1)?.push(packet);
  }
  return keys;
}

const userIds = (key: Packet[]) => key.filter((p) => p.tag === USER_ID).map((p) => p.body.toString('utf8'));

/** The secret key helm signs with for `keyName`: a user ID equal to it, else the only one containing it. */
function signingKey(keys: Packet[][], keyName: string): Packet[] {
  const exact = keys.find((key) => userIds(key).includes(keyName));
  if (exact) return exact;
  const matching = keys.filter((key) => userIds(key).some((id) => id.includes(keyName)));
  if (matching.length === 1) return matching[0]!;
  const ids = keys.flatMap(userIds).join(', ') || 'none';
  throw new Error(
    matching.length === 0
      ? `gpg-key-name: no key of gpg-private-key has a user ID containing "${keyName}" (user IDs: ${ids})`
      : `gpg-key-name: several keys of gpg-private-key have a user ID containing "${keyName}" (${ids})`,
  );
}

export interface PublicKey {
  /** The transferable public key's packets (binary, as `gpg --export` writes them). */
  packets: Buffer;
  fingerprint: string;
  userIds: string[];
}

/** The public key of the secret key named `keyName` in a secret keyring (binary OpenPGP packets). */
export function publicKeyOf(keyring: Buffer, keyName: string): PublicKey {
  const input = 'gpg-private-key';
  const key = signingKey(keysOf(readPackets(keyring, input), SECRET_KEY), keyName);
  const out: Packet[] = [];
  for (const packet of key) {
    if (packet.tag === SECRET_KEY || packet.tag === SECRET_SUBKEY) {
      const tag = packet.tag === SECRET_KEY ? PUBLIC_KEY : PUBLIC_SUBKEY;
      out.push({ tag, body: packet.body.subarray(0, publicLength(packet.body, input)) });
    } else if (KEPT.has(packet.tag)) out.push(packet);
  }
  return {
    packets: Buffer.concat(out.map(writePacket)),
    fingerprint: fingerprint(out[0]!.body),
    userIds: userIds(key),
  };
}

/** CRC-24 of RFC 9580 section 6.1, the armor's checksum line. */
function crc24(data: Buffer): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

const BEGIN = '-----BEGIN PGP PUBLIC KEY BLOCK-----';
const END = '-----END PGP PUBLIC KEY BLOCK-----';

export function armorPublicKey(packets: Buffer): string {
  const lines = packets.toString('base64').match(/.{1,64}/g) ?? [];
  const crc = Buffer.alloc(3);
  crc.writeUIntBE(crc24(packets), 0, 3);
  return `${BEGIN}\n\n${lines.join('\n')}\n=${crc.toString('base64')}\n${END}\n`;
}

/** The packets of an armored public key block; throws naming `what` when it is not one. */
export function dearmorPublicKey(text: string, what: string): Buffer {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${what} is not an armored OpenPGP public key block`);
  const body = text
    .slice(start + BEGIN.length, end)
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '' && !line.includes(':') && !line.startsWith('='))
    .join('');
  const packets = Buffer.from(body, 'base64');
  if (keysOf(readPackets(packets, what), PUBLIC_KEY).length === 0) {
    throw new Error(`${what} holds no OpenPGP public key`);
  }
  return packets;
}

/**
 * The published keyring with `key` in it: the keys already there are kept (charts they signed still verify),
 * the same key (same primary key packet) is replaced in place by this export of it. Armored, or undefined when
 * the published text already is exactly that.
 */
export function mergePublicKey(published: string | undefined, key: PublicKey): string | undefined {
  const ours = readPackets(key.packets, 'the public key');
  const keys = published
    ? keysOf(readPackets(dearmorPublicKey(published, 'pubkey.asc'), 'pubkey.asc'), PUBLIC_KEY)
    : [];
  const same = keys.findIndex((k) => k[0]!.body.equals(ours[0]!.body));
  if (same >= 0) keys[same] = ours;
  else keys.push(ours);
  const text = armorPublicKey(Buffer.concat(keys.flat().map(writePacket)));
  return text === published ? undefined : text;
}
