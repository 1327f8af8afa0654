// Negotiating the extension (docs/extensions.md, Negotiation): the offer is
// one more If-Block field that leaves the v=1 request exactly as it was; the
// answer and Capability change only for requests that offered it.

import { getDefaultEngine } from '../../../src/core/embedded-core';
import { answerableExtensionVersion, capabilityFor, capabilityHasExtension, offerExtension } from '../../../src/protocol/ext-offer';
import { EXT_CAPABILITY_VALUE } from '../../../src/protocol/ext-wire';
import { formatIfBlock, parseIfBlock } from '../../../src/protocol/if-block';
import { CAPABILITY_VALUE } from '../../../src/protocol/wire';
import { randomBytes, seededRandom } from '../../helpers/random';

const engine = getDefaultEngine();
const value = formatIfBlock(randomBytes(seededRandom(1), 5000), engine)!;

describe('the offer (client)', () => {
  it('appends "; x=1" to the exact v=1 value', () => {
    expect(offerExtension(value)).toBe(`${value}; x=1`);
    expect(offerExtension(value).startsWith(value)).toBe(true);
  });

  it('leaves the request a valid v=1 If-Block with the same meaning (v=1 servers read only v, fs, h)', () => {
    expect(parseIfBlock(offerExtension(value))).toEqual(parseIfBlock(value));
  });
});

describe('the answer (server)', () => {
  it('answers version 1 to x=1, and to a later version (a client speaking k decodes every version below it)', () => {
    expect(answerableExtensionVersion(offerExtension(value))).toBe(1);
    expect(answerableExtensionVersion(`${value}; x=3`)).toBe(1);
    expect(answerableExtensionVersion(`x=1;${value}`)).toBe(1);
    expect(answerableExtensionVersion(`${value};X = 1 `)).toBe(1);
  });

  it.each([
    ['no x', value],
    ['x=0', `${value}; x=0`],
    ['x empty', `${value}; x=`],
    ['x not decimal', `${value}; x=yes`],
    ['x negative', `${value}; x=-1`],
    ['x huge', `${value}; x=99999`],
    ['x as a list', `${value}; x=1,2`],
  ])('treats %s as no offer, and the request stays a valid v=1 request', (_what, request) => {
    expect(answerableExtensionVersion(request)).toBe(0);
    expect(() => parseIfBlock(request)).not.toThrow();
  });

  it('finds no offer in a header the v=1 parser refuses (the server passes such requests through anyway)', () => {
    expect(answerableExtensionVersion(`${value}; x=1; x=1`)).toBe(0);
    expect(answerableExtensionVersion(`${value}; x`)).toBe(0);
    expect(answerableExtensionVersion(`${value}; x=1${' '.repeat(5000)}`)).toBe(0);
  });

  it('says Capability: crcsync; m=1; x=1 only to requests that offered it, the exact v=1 value to others', () => {
    expect(capabilityFor(1)).toBe('crcsync; m=1; x=1');
    expect(capabilityFor(1)).toBe(EXT_CAPABILITY_VALUE);
    expect(capabilityFor(0)).toBe('crcsync; m=1');
    expect(capabilityFor(0)).toBe(CAPABILITY_VALUE);
  });
});

describe('Capability as the client reads it', () => {
  it.each([
    ['crcsync; m=1; x=1', true],
    ['crcsync;x=1;m=1', true],
    ['CRCSYNC; M=1; X=2', true],
    ['crcsync; m=1', false],
    ['crcsync; m=1; x=0', false],
    ['crcsync; m=1; x=yes', false],
    ['gzip; x=1', false],
    ['', false],
  ])('%j -> %s', (capability, speaks) => {
    expect(capabilityHasExtension(capability)).toBe(speaks);
  });
  it('no header: no', () => expect(capabilityHasExtension(undefined)).toBe(false));
});
