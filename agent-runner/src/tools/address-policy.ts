import { isIP } from 'node:net';

/**
 * Which IP addresses a tenant-defined HTTP tool may connect to. Checked on every address a
 * tool's host resolves to, right before connecting (the agent subgraph only rejects obvious
 * literals at design time; DNS can point a public name anywhere).
 *
 * Blocked by default: everything that is not globally routable unicast — loopback, RFC 1918,
 * CGNAT, link-local, unique-local, site-local, multicast, documentation, benchmarking and
 * reserved ranges — and IPv6 forms that embed an IPv4 address (IPv4-mapped, IPv4-compatible,
 * NAT64, 6to4) are judged by the embedded address. Cloud metadata endpoints stay blocked even
 * when private networks are allowed for development: no tool has a reason to read instance
 * credentials.
 */

export type AddressVerdict = { allowed: true } | { allowed: false; range: string; metadata: boolean };

interface Range {
  bytes: number[];
  prefix: number;
  label: string;
}

function range(cidr: string, label: string): Range {
  const [ip = '', bits = ''] = cidr.split('/');
  const bytes = ipBytes(ip);
  if (!bytes) throw new Error(`bad range ${cidr}`);
  return { bytes, prefix: Number(bits), label };
}

const V4_BLOCKED: Range[] = [
  range('0.0.0.0/8', 'this network'),
  range('10.0.0.0/8', 'private'),
  range('100.64.0.0/10', 'shared address space (CGNAT)'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local'),
  range('172.16.0.0/12', 'private'),
  range('192.0.0.0/24', 'IETF protocol assignments'),
  range('192.0.2.0/24', 'documentation'),
  range('192.88.99.0/24', '6to4 relay anycast'),
  range('192.168.0.0/16', 'private'),
  range('198.18.0.0/15', 'benchmarking'),
  range('198.51.100.0/24', 'documentation'),
  range('203.0.113.0/24', 'documentation'),
  range('224.0.0.0/4', 'multicast'),
  range('240.0.0.0/4', 'reserved'),
];

const V6_BLOCKED: Range[] = [
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('64:ff9b:1::/48', 'local-use NAT64'),
  range('100::/64', 'discard-only'),
  range('2001::/23', 'IETF protocol assignments (incl. Teredo)'),
  range('2001:db8::/32', 'documentation'),
  range('fc00::/7', 'unique-local'),
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'site-local'),
  range('ff00::/8', 'multicast'),
];

const METADATA: Range[] = [
  range('169.254.169.254/32', 'cloud metadata'),
  range('169.254.170.2/32', 'container metadata (ECS)'),
  range('100.100.100.200/32', 'cloud metadata (Alibaba)'),
  range('168.63.129.16/32', 'cloud host endpoint (Azure)'),
  range('fd00:ec2::254/128', 'cloud metadata (AWS IPv6)'),
];

/** 4 bytes for IPv4, 16 for IPv6 (zone id ignored), null when not an IP address. */
export function ipBytes(address: string): number[] | null {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const kind = isIP(ip);
  if (kind === 4) return ip.split('.').map(Number);
  if (kind !== 6) return null;
  let text = ip.toLowerCase();
  // A trailing dotted quad (::ffff:127.0.0.1) is the last two groups written in decimal.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const hex = (s: string) => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  let groups: number[];
  const gap = text.indexOf('::');
  if (gap >= 0) {
    const head = hex(text.slice(0, gap));
    const rest = hex(text.slice(gap + 2));
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    groups = hex(text);
  }
  if (groups.length !== 8) return null;
  return groups.flatMap((g) => [g >> 8, g & 255]);
}

function inRange(bytes: number[], r: Range): boolean {
  if (bytes.length !== r.bytes.length) return false;
  let bits = r.prefix;
  for (let i = 0; bits > 0; i += 1, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((r.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

const zeros = (b: number[], from: number, to: number) => b.slice(from, to).every((x) => x === 0);

/** The IPv4 address an IPv6 address stands for, when it is one of the embedding forms. */
export function embeddedIPv4(bytes: number[]): number[] | null {
  if (bytes.length !== 16) return null;
  // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (deprecated IPv4-compatible; not :: or ::1).
  if (zeros(bytes, 0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12);
  if (zeros(bytes, 0, 12) && !zeros(bytes, 12, 15)) return bytes.slice(12);
  // 64:ff9b::a.b.c.d: the well-known NAT64 prefix reaches whatever IPv4 address it carries.
  if (bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(bytes, 4, 12)) return bytes.slice(12);
  // 2002:aabb:ccdd::/48: 6to4 tunnels to a.b.c.d.
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6);
  return null;
}

/**
 * Whether a tool may connect to `address`. With `allowPrivate` (the tool's flag and the
 * runner's development switch both on), only metadata endpoints stay refused.
 */
export function checkAddress(address: string, allowPrivate: boolean): AddressVerdict {
  const bytes = ipBytes(address);
  if (!bytes) return { allowed: false, range: 'not an IP address', metadata: false };
  const v4 = bytes.length === 4 ? bytes : embeddedIPv4(bytes);
  const candidates = v4 && v4 !== bytes ? [bytes, v4] : [bytes];
  for (const b of candidates) {
    const meta = METADATA.find((r) => inRange(b, r));
    if (meta) return { allowed: false, range: meta.label, metadata: true };
  }
  if (allowPrivate) return { allowed: true };
  for (const b of candidates) {
    const hit = (b.length === 4 ? V4_BLOCKED : V6_BLOCKED).find((r) => inRange(b, r));
    if (hit) return { allowed: false, range: hit.label, metadata: false };
  }
  // Only global unicast (2000::/3) is routable on the internet; everything else in IPv6 is reserved.
  if (bytes.length === 16 && !v4 && (bytes[0]! & 0xe0) !== 0x20) return { allowed: false, range: 'reserved', metadata: false };
  return { allowed: true };
}
