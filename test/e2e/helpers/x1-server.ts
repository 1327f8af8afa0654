// A crcsync peer that speaks the extension x=1 (docs/extensions.md), for the
// extension's progressive-release tests, on 127.0.0.1 port 0. It answers a
// request whose If-Block offers x=1 with an extension body made by the
// reference encoder (ExtDeltaEncoder), and can:
// - hold the body back after its first checkpoint (the verified prefix is on
//   the wire, the rest waits until the test releases it), so a test can look
//   at the page while only the prefix can have reached it;
// - damage the body after its first checkpoint (a wrong S digest), so the
//   prefix verifies and the body as a whole does not.
// A request without If-Block (a first visit, the extension's fallback
// refetch, a reload) gets the current version in full. It records what each
// request got, and the bodies it served completely (`served`, the oracle of
// helpers/cache-check.ts). /__crcsync_test__/* gets 204, as in servers.ts.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getDefaultEngine } from '../../../src/core/embedded-core';
import { DeltaDecoder } from '../../../src/protocol/delta-decoder';
import { ExtDeltaEncoder } from '../../../src/protocol/ext-encoder';
import { capabilityFor, offerExtension } from '../../../src/protocol/ext-offer';
import { formatIfBlock, parseIfBlock } from '../../../src/protocol/if-block';
import { nodePrefixSha1 } from '../../helpers/ext-codec';
import { ServedBodies, TEST_TRIGGER_PATH, sha256Hex } from './servers';

/** What one request got: an x=1 body (held back and/or damaged after its first checkpoint), or the full version. */
export interface X1Answer {
  path: string;
  ifBlock: string | undefined;
  kind: 'x1' | 'full';
  held: boolean;
  damaged: boolean;
  /** x=1 only: body bytes the first checkpoint verifies, and the delta bytes up to its end. */
  firstCheckpoint: { bodyEnd: number; deltaEnd: number } | null;
}

export interface X1Server {
  origin: string;
  answers: X1Answer[];
  served: ServedBodies;
  /** Makes `body` the current version of `path` (text/html; charset=utf-8). */
  publish(path: string, body: string): void;
  /** What the next x=1 answer does after its first checkpoint (each flag is used once). */
  next: { hold: boolean; damage: boolean };
  /** Answers held back after their first checkpoint, not yet released. */
  readonly heldCount: number;
  /** Sends the rest of every held answer. */
  release(): void;
  close(): Promise<void>;
}

/** Where each checkpoint of `delta` ends and what it verifies: the decoder's own releases, byte by byte. */
export function checkpointsOf(base: Uint8Array, delta: Uint8Array): { bodyEnd: number; deltaEnd: number }[] {
  const found: { bodyEnd: number; deltaEnd: number }[] = [];
  const decoder = new DeltaDecoder(base, { acceptExtension: true, sha1: nodePrefixSha1 });
  let at = 0;
  decoder.onverified = (bytes, offset) => {
    if (!decoder.verifiedBody) found.push({ bodyEnd: offset + bytes.length, deltaEnd: at + 1 });
  };
  for (; at < delta.length; at++) decoder.push(delta.subarray(at, at + 1), at === delta.length - 1);
  return found;
}

export async function startX1Server(): Promise<X1Server> {
  const engine = getDefaultEngine();
  const current = new Map<string, Buffer>();
  /** Every version ever published, by the If-Block a client holding it offers x=1 with. */
  const byOffer = new Map<string, Buffer>();
  const answers: X1Answer[] = [];
  const served: ServedBodies = new Map();
  const held: (() => void)[] = [];
  const next = { hold: false, damage: false };

  const recordServed = (path: string, body: Uint8Array) => {
    const digests = served.get(path) ?? new Set<string>();
    digests.add(sha256Hex(body));
    served.set(path, digests);
  };

  const server = http.createServer((req, res) => {
    const path = req.url ?? '';
    if (path.startsWith(TEST_TRIGGER_PATH)) {
      res.writeHead(204, { 'Cache-Control': 'no-store' });
      res.end();
      return;
    }
    const body = current.get(path.split('?')[0]);
    const ifBlock = typeof req.headers['if-block'] === 'string' ? req.headers['if-block'] : undefined;
    if (!body) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache', Vary: 'If-Block' };
    const base = ifBlock === undefined ? undefined : byOffer.get(ifBlock);
    if (ifBlock === undefined || !base) {
      // No offer this server can answer with a delta: the full version (a v=1 If-Block is not expected here).
      answers.push({ path, ifBlock, kind: 'full', held: false, damaged: false, firstCheckpoint: null });
      res.writeHead(200, { ...headers, Capability: capabilityFor(ifBlock === undefined ? 0 : 1), 'Content-Length': String(body.length) });
      res.end(body, () => recordServed(path, body));
      return;
    }
    const chunks: Uint8Array[] = [];
    new ExtDeltaEncoder(parseIfBlock(ifBlock), { engine }, (chunk) => chunks.push(chunk)).push(body, true);
    const delta = Buffer.concat(chunks);
    const [first] = checkpointsOf(base, delta);
    const hold = next.hold && first !== undefined;
    const damage = next.damage && first !== undefined;
    next.hold = false;
    next.damage = false;
    if (damage) delta[delta.length - 1] ^= 0xff; // the S digest's last byte: the prefix verifies, the whole body does not
    answers.push({ path, ifBlock, kind: 'x1', held: hold, damaged: damage, firstCheckpoint: first ?? null });
    res.writeHead(200, { ...headers, 'Content-Encoding': 'crcsync', Capability: capabilityFor(1) });
    const finish = () => res.end(delta.subarray(hold ? first.deltaEnd : 0), () => !damage && recordServed(path, body));
    if (!hold) return finish();
    res.write(delta.subarray(0, first.deltaEnd));
    held.push(finish);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answers,
    served,
    next,
    get heldCount() {
      return held.length;
    },
    publish: (path, text) => {
      const body = Buffer.from(text);
      current.set(path, body);
      byOffer.set(offerExtension(formatIfBlock(body, engine)!), body);
    },
    release: () => {
      for (const finish of held.splice(0)) finish();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const finish of held.splice(0)) finish();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
