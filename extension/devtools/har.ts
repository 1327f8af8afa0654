// A HAR-like export of the panel's exchanges (HAR 1.2 field names, crcsync
// details under `_crcsync`, the HAR convention for custom fields).

import type { ExchangeRecord } from '../shared/messages';

export interface HarLike {
  log: {
    version: '1.2';
    creator: { name: string; version: string };
    entries: unknown[];
  };
}

export function exchangesToHar(records: readonly ExchangeRecord[], version: string): HarLike {
  return {
    log: {
      version: '1.2',
      creator: { name: 'crcsync', version },
      entries: records.map((record) => ({
        startedDateTime: new Date(record.startedAt).toISOString(),
        time: record.durationMs,
        request: {
          method: record.method,
          url: record.url,
          headers: record.ifBlock ? [{ name: 'If-Block', value: record.ifBlock }] : [],
        },
        response: {
          status: record.status,
          headers: [{ name: 'Content-Encoding', value: record.encoding }],
          content: { size: record.fullBytes },
          // HAR bodySize is the body as transferred; Firefox reports headers + body together, so it is unknown (-1) here.
          bodySize: -1,
          _transferSize: record.wireBytes ?? -1,
        },
        timings: { wait: -1, receive: record.durationMs },
        _crcsync: {
          type: record.type,
          ifBlockSent: record.ifBlock !== null,
          ifBlockWithheld: record.ifBlockWithheld ?? null,
          encoding: record.encoding,
          wireBytes: record.wireBytes,
          bodyBytes: record.bodyBytes,
          baselineBytes: record.baselineBytes,
          fullBytes: record.fullBytes,
          rebuildMs: record.rebuildMs,
          outcome: record.outcome,
          reason: record.reason,
        },
      })),
    },
  };
}
