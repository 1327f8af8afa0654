import { exchangesToHar } from '../../../extension/devtools/har';
import { refetchHeaders } from '../../../extension/background/refetch';
import type { ExchangeRecord } from '../../../extension/shared/messages';

const record: ExchangeRecord = {
  id: '1-7',
  tabId: 2,
  url: 'https://a.example/',
  method: 'GET',
  type: 'main_frame',
  status: 200,
  startedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
  durationMs: 42,
  ifBlock: 'v=1; fs=1000; h=AAAA',
  encoding: 'crcsync',
  wireBytes: 420,
  bodyBytes: 120,
  baselineBytes: 900,
  fullBytes: 1000,
  rebuildMs: 1.5,
  outcome: 'verified',
  reason: null,
};

test('exchangesToHar writes HAR 1.2 fields and the crcsync details', () => {
  const har = exchangesToHar([record], '0.1.0');
  expect(har.log.version).toBe('1.2');
  expect(har.log.entries).toEqual([
    expect.objectContaining({
      startedDateTime: '2026-01-02T03:04:05.000Z',
      time: 42,
      request: { method: 'GET', url: 'https://a.example/', headers: [{ name: 'If-Block', value: 'v=1; fs=1000; h=AAAA' }] },
      response: expect.objectContaining({ bodySize: -1, _transferSize: 420, content: { size: 1000 } }),
      _crcsync: expect.objectContaining({ ifBlockSent: true, outcome: 'verified', wireBytes: 420, bodyBytes: 120, baselineBytes: 900, fullBytes: 1000 }),
    }),
  ]);
});

test('an exchange Firefox did not measure exports an unknown transfer size', () => {
  const [entry] = exchangesToHar([{ ...record, wireBytes: null }], '0.1.0').log.entries as { response: { _transferSize: number } }[];
  expect(entry.response._transferSize).toBe(-1);
});

test('the fallback refetch copies ordinary headers, never conditionals, ranges or If-Block', () => {
  expect(
    refetchHeaders([
      { name: 'Accept', value: 'text/html' },
      { name: 'If-Block', value: 'v=1' },
      { name: 'If-None-Match', value: '"x"' },
      { name: 'Range', value: 'bytes=0-1' },
      { name: 'Cookie', value: 'a=b' },
      { name: 'X-Requested-With', value: 'XMLHttpRequest' },
    ]),
  ).toEqual([
    ['Accept', 'text/html'],
    ['X-Requested-With', 'XMLHttpRequest'],
  ]);
});
