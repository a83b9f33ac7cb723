import { describe, expect, it } from 'vitest';
import { checkAddress, embeddedIPv4, ipBytes } from './address-policy.ts';

describe('ipBytes', () => {
  it('expands IPv6 forms, including a trailing dotted quad and a zone id', () => {
    expect(ipBytes('::1')).toEqual([...new Array(15).fill(0), 1]);
    expect(ipBytes('[::ffff:127.0.0.1]')).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 127, 0, 0, 1]);
    expect(ipBytes('::ffff:7f00:1')).toEqual(ipBytes('::ffff:127.0.0.1'));
    expect(ipBytes('fe80::1%eth0')).toEqual([0xfe, 0x80, ...new Array(13).fill(0), 1]);
    expect(ipBytes('2001:db8:0:0:0:0:0:1')).toEqual(ipBytes('2001:db8::1'));
    expect(ipBytes('10.1.2.3')).toEqual([10, 1, 2, 3]);
    expect(ipBytes('example.com')).toBeNull();
  });

  it('finds the IPv4 address inside mapped, compatible, NAT64 and 6to4 addresses', () => {
    expect(embeddedIPv4(ipBytes('::ffff:10.0.0.1')!)).toEqual([10, 0, 0, 1]);
    expect(embeddedIPv4(ipBytes('::127.0.0.1')!)).toEqual([127, 0, 0, 1]);
    expect(embeddedIPv4(ipBytes('64:ff9b::a9fe:a9fe')!)).toEqual([169, 254, 169, 254]);
    expect(embeddedIPv4(ipBytes('2002:c0a8:0101::1')!)).toEqual([192, 168, 1, 1]);
    expect(embeddedIPv4(ipBytes('::1')!)).toBeNull();
    expect(embeddedIPv4(ipBytes('2606:4700::1111')!)).toBeNull();
  });
});

describe('checkAddress', () => {
  const refused = [
    '127.0.0.1',
    '127.8.9.10',
    '10.0.0.5',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    '169.254.1.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:192.168.0.1',
    '64:ff9b::10.0.0.1',
    '2002:0a00:0001::1',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'fec0::1',
    'ff02::1',
    '2001:db8::1',
  ];
  it.each(refused)('refuses %s by default', (ip) => {
    expect(checkAddress(ip, false)).toMatchObject({ allowed: false });
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8'])(
    'allows the public address %s',
    (ip) => {
      expect(checkAddress(ip, false)).toEqual({ allowed: true });
    },
  );

  it('names the range it refused', () => {
    expect(checkAddress('::ffff:127.0.0.1', false)).toEqual({ allowed: false, range: 'loopback', metadata: false });
    expect(checkAddress('fd00::1', false)).toEqual({ allowed: false, range: 'unique-local', metadata: false });
  });

  it('allows private ranges for development but never the metadata endpoints', () => {
    expect(checkAddress('127.0.0.1', true)).toEqual({ allowed: true });
    expect(checkAddress('::1', true)).toEqual({ allowed: true });
    expect(checkAddress('10.0.0.1', true)).toEqual({ allowed: true });
    for (const ip of ['169.254.169.254', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe', 'fd00:ec2::254', '100.100.100.200']) {
      expect(checkAddress(ip, true)).toMatchObject({ allowed: false, metadata: true });
    }
  });

  it('refuses what is not an address at all', () => {
    expect(checkAddress('localhost', true)).toMatchObject({ allowed: false });
  });
});
