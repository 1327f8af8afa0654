// Whether a request offers the x=1 extension (docs/extensions.md §1.2): `x`
// is read only from an If-Block that parses as valid v=1; a missing or
// malformed `x`, or an If-Block that is not valid v=1, is no offer, and the
// request is then answered exactly as a v=1 request. The answer to an offer
// says so in Capability whatever its body (§1.3), errors included.

import { answerableExtensionVersion, parseIfBlock } from '../protocol/index';

/** The extension version to answer a request's If-Block with (its header as Node gives it), or 0: no offer. */
export function offeredExtension(ifBlock: string | readonly string[] | undefined): number {
  if (ifBlock === undefined) return 0;
  // Joined as decideDeltaEncoding joins repeated headers: then duplicate fields, which parseIfBlock rejects.
  const value = typeof ifBlock === 'string' ? ifBlock : ifBlock.join('; ');
  try {
    parseIfBlock(value);
  } catch {
    return 0;
  }
  return answerableExtensionVersion(value);
}
