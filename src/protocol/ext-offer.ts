// Negotiating the extension (docs/extensions.md, Negotiation): the client
// offers it with one more If-Block field that v=1 servers ignore; a server
// that speaks it answers in the extension format only when offered, and says
// so in Capability. Bodies are self-describing (the X marker), so a client
// never needs the response headers to tell the formats apart.

import { ifBlockFields } from './if-block';
import { EXT_CAPABILITY_VALUE, EXT_OFFER, EXT_OFFER_FIELD, EXT_VERSION } from './ext-wire';
import { CAPABILITY_VALUE } from './wire';

const DECIMAL = /^[0-9]{1,3}$/;

/** The client's If-Block value with the offer appended: the v=1 part stays byte-exact. */
export function offerExtension(ifBlockValue: string): string {
  return `${ifBlockValue}${EXT_OFFER}`;
}

/**
 * The extension version a server that speaks EXT_VERSION answers with, or 0
 * when the request does not offer one. `x` names the highest version the
 * client speaks (it decodes every lower one too). A malformed `x` is no
 * offer: the request is then a plain v=1 request, never an invalid one.
 * Call it only for an If-Block that parseIfBlock accepted.
 */
export function answerableExtensionVersion(ifBlockValue: string): number {
  let offered: string | undefined;
  try {
    offered = ifBlockFields(ifBlockValue).get(EXT_OFFER_FIELD);
  } catch {
    return 0;
  }
  if (offered === undefined || !DECIMAL.test(offered)) return 0;
  const version = Number(offered);
  return version >= 1 ? Math.min(version, EXT_VERSION) : 0;
}

/**
 * Capability for a response: a server that speaks the extension says so
 * (`crcsync; m=1; x=1`) only to requests that offered it; every other
 * response keeps the exact v=1 value.
 */
export function capabilityFor(offeredVersion: number): string {
  return offeredVersion >= 1 ? EXT_CAPABILITY_VALUE : CAPABILITY_VALUE;
}

/** Whether a Capability value says the server speaks the extension (client side; parameters in any order and case). */
export function capabilityHasExtension(value: string | undefined): boolean {
  if (!value) return false;
  const [token, ...parameters] = value.split(';').map((part) => part.trim().toLowerCase());
  if (token !== 'crcsync') return false;
  return parameters.some((parameter) => {
    const [name, version] = parameter.split('=').map((part) => part.trim());
    return name === EXT_OFFER_FIELD && DECIMAL.test(version ?? '') && Number(version) >= EXT_VERSION;
  });
}
