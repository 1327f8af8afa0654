import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCUMENT_AND_FETCH_TYPES } from '../../../extension/background/request-scope';
import { LoadSample, pageResult, summarize } from '../../../scripts/bench-load/report';
import { LINK_PROFILES } from '../../../scripts/bench-load/throttle-proxy';

const FLOOR_DIR = join(__dirname, '../../../scripts/bench-load/floor-extension');

describe('bench:load floor condition', () => {
  test('the floor extension hooks exactly the resource types crcsync hooks by default', () => {
    const source = readFileSync(join(FLOOR_DIR, 'background.js'), 'utf8');
    const listed = /const TYPES = (\[[^\]]*\]);/.exec(source);
    expect(listed).not.toBeNull();
    expect(JSON.parse(listed![1].replace(/'/g, '"'))).toEqual([...DOCUMENT_AND_FETCH_TYPES]);
    const manifest = JSON.parse(readFileSync(join(FLOOR_DIR, 'manifest.json'), 'utf8')) as { permissions: string[] };
    expect(manifest.permissions).toEqual(expect.arrayContaining(['webRequestBlocking', 'webRequestFilterResponse']));
  });

  function sample(condition: LoadSample['condition'], loadEventEnd: number, bytesDown: number): LoadSample {
    return {
      page: 'p',
      condition,
      run: 0,
      position: 0,
      responseStart: 10,
      domInteractive: loadEventEnd - 10,
      loadEventEnd,
      bytesDown,
      bytesUp: 500,
      connections: 1,
      documentEncoding: null,
      documentSentBytes: null,
      documentFullBytes: null,
      requests: 1,
      excludedBecause: null,
      deltaDeclined: null,
      documentExchange: null,
      verifiedExchanges: [],
    };
  }

  test('bounds: saved bytes priced at the link rate, the floor cost added back', () => {
    // 1 Mbit/s: 14,600 saved bytes are 10 segments of 1500 bytes on the wire = 120 ms.
    const samples = [sample('off', 600, 20_000), sample('on', 580, 5_400), sample('floor', 630, 20_000)];
    const result = pageResult('p', 'corpus', samples, LINK_PROFILES['1m']);
    expect(result.loadRatio).toBeCloseTo(600 / 580);
    expect(result.floorLoadRatio).toBeCloseTo(600 / 630);
    expect(result.boundLoadRatio).toBeCloseTo(600 / (600 - 120));
    expect(result.floorBoundLoadRatio).toBeCloseTo(600 / (600 - 120 + 30));
    expect(summarize([result]).medianFloorBoundLoadRatio).toBeCloseTo(600 / 510);
  });

  test('unthrottled, saved bytes buy no time: the bound is 1 and the floor bound is the floor', () => {
    const samples = [sample('off', 100, 20_000), sample('on', 120, 5_400), sample('floor', 110, 20_000)];
    const result = pageResult('p', 'corpus', samples, LINK_PROFILES.none);
    expect(result.boundLoadRatio).toBe(1);
    expect(result.floorBoundLoadRatio).toBeCloseTo(100 / 110);
  });

  test('ideal (crcsync\'s bytes at no cost, measured): brotli ÷ ideal, ideal ÷ crcsync, and the worst page of it', () => {
    const first = pageResult('p', 'corpus', [sample('off', 600, 20_000), sample('on', 580, 5_400), sample('ideal', 500, 20_000)], LINK_PROFILES['1m']);
    expect(first.idealLoadRatio).toBeCloseTo(600 / 500);
    expect(first.onToIdealRatio).toBeCloseTo(500 / 580);
    const second = pageResult('q', 'corpus', [{ ...sample('off', 300, 9_000), page: 'q' }, { ...sample('on', 310, 3_000), page: 'q' }, { ...sample('ideal', 290, 9_000), page: 'q' }], LINK_PROFILES['1m']);
    const summary = summarize([first, second]);
    expect(summary.medianIdealLoadRatio).toBeCloseTo((600 / 500 + 300 / 290) / 2);
    expect(summary.worstIdealPage).toEqual({ page: 'q', loadRatio: 300 / 290 });
    expect(first.free).toBeNull();
    expect(summary.medianFreeLoadRatio).toBeNull();
  });

  test('free document (its body charged nothing): brotli ÷ free', () => {
    const result = pageResult('p', 'corpus', [sample('off', 600, 20_000), sample('on', 580, 5_400), sample('ideal', 500, 20_000), sample('free', 480, 20_000)], LINK_PROFILES['1m']);
    expect(result.freeLoadRatio).toBeCloseTo(600 / 480);
    expect(summarize([result]).medianFreeLoadRatio).toBeCloseTo(600 / 480);
  });

  test('without the floor condition its columns stay empty', () => {
    const result = pageResult('p', 'corpus', [sample('off', 100, 2000), sample('on', 90, 1000)], LINK_PROFILES['10m']);
    expect(result.floor).toBeNull();
    expect(result.floorLoadRatio).toBeNull();
    expect(result.floorBoundLoadRatio).toBeNull();
    expect(result.ideal).toBeNull();
    expect(result.idealLoadRatio).toBeNull();
  });
});
