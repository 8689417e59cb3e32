/** Topic and payload parsing: table cases plus fast-check properties (never throws, round-trips). */
import {
  checkAgainstKind,
  MAX_PAYLOAD_BYTES,
  parseStatus,
  parseTelemetry,
  parseTopic,
  Rejection,
  type TelemetryPoint,
} from '@citygrid/iot';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const arrivedAt = Date.UTC(2026, 10, 27, 8, 0, 0);
const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const parse = (v: unknown) => parseTelemetry(enc(v), { arrivedAt });
const reason = (r: TelemetryPoint[] | Rejection) => (r instanceof Rejection ? r.code : 'OK');

describe('parseTopic', () => {
  it.each([
    ['citygrid/v1/wl-0001/telemetry', { deviceId: 'wl-0001', kind: 'telemetry' }],
    ['citygrid/v1/wl-0001/status', { deviceId: 'wl-0001', kind: 'status' }],
    ['citygrid/v1/wl-0001/other', undefined],
    ['citygrid/v2/wl-0001/telemetry', undefined],
    ['citygrid/v1//telemetry', undefined],
    ['citygrid/v1/a/b/telemetry', undefined],
    ['citygrid/v1/+/telemetry', undefined],
  ])('%s', (topic, expected) => {
    expect(parseTopic(topic)).toEqual(expected);
  });
});

describe('parseTelemetry', () => {
  it.each<[string, unknown, string]>([
    ['single object, epoch ms', { ts: arrivedAt - 1000, values: { level: 0.2 } }, 'OK'],
    ['ISO time with offset', { ts: '2026-11-27T15:59:00+08:00', values: { level: 0.2 } }, 'OK'],
    ['missing ts means arrival', { values: { level: 0.2 } }, 'OK'],
    ['backlog array', [{ ts: arrivedAt - 2000, values: { a: 1 } }, { values: { a: 2 } }], 'OK'],
    ['malformed JSON', '{"values": {', 'MALFORMED_JSON'],
    ['string value', { values: { level: '0.2' } }, 'WRONG_TYPE'],
    ['null value', { values: { level: null } }, 'WRONG_TYPE'],
    ['boolean value', { values: { open: true } }, 'WRONG_TYPE'],
    ['ts as words', { ts: 'yesterday', values: { level: 0.2 } }, 'WRONG_TYPE'],
    ['ISO without offset', { ts: '2026-11-27T08:00:00', values: { level: 0.2 } }, 'WRONG_TYPE'],
    ['negative seq', { seq: -1, values: { level: 0.2 } }, 'WRONG_TYPE'],
    ['no values', { ts: arrivedAt }, 'INVALID_PAYLOAD'],
    ['empty values', { values: {} }, 'INVALID_PAYLOAD'],
    ['a number, not an object', 42, 'INVALID_PAYLOAD'],
    ['empty backlog', [], 'INVALID_PAYLOAD'],
    ['far future', { ts: arrivedAt + 3600_000, values: { level: 0.2 } }, 'BAD_TIMESTAMP'],
    ['before retention', { ts: arrivedAt - 90 * 86_400_000, values: { level: 0.2 } }, 'BAD_TIMESTAMP'],
  ])('%s', (_name, payload, expected) => {
    expect(reason(parse(payload))).toBe(expected);
  });

  it('refuses a payload over the size cap before parsing it', () => {
    const r = parseTelemetry(Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20), { arrivedAt });
    expect(reason(r)).toBe('TOO_LARGE');
  });

  it('takes the arrival time for a point without ts', () => {
    expect(parse({ values: { level: 0.2 } })).toEqual([{ ts: arrivedAt, seq: null, values: { level: 0.2 } }]);
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const r = parseTelemetry(bytes, { arrivedAt });
        expect(Array.isArray(r) || r instanceof Rejection).toBe(true);
      }),
    );
  });

  it('never throws on arbitrary JSON, and accepts only finite numeric values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const r = parseTelemetry(enc(value), { arrivedAt });
        if (Array.isArray(r)) {
          for (const p of r) {
            expect(Number.isFinite(p.ts)).toBe(true);
            for (const v of Object.values(p.values)) expect(Number.isFinite(v)).toBe(true);
          }
        } else expect(r).toBeInstanceOf(Rejection);
      }),
    );
  });

  it('round-trips any well-formed point or backlog', () => {
    const metric = fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/);
    const point = fc.record({
      ts: fc.integer({ min: arrivedAt - 7 * 86_400_000, max: arrivedAt + 60_000 }),
      seq: fc.option(fc.nat(), { nil: null }),
      values: fc.dictionary(
        metric,
        fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => (Object.is(v, -0) ? 0 : v)),
        {
          minKeys: 1,
          maxKeys: 5,
        },
      ),
    });
    fc.assert(
      fc.property(fc.array(point, { minLength: 1, maxLength: 20 }), fc.boolean(), (points, asIso) => {
        const wire = points.map((p) => ({
          ts: asIso ? new Date(p.ts).toISOString() : p.ts,
          ...(p.seq === null ? {} : { seq: p.seq }),
          values: p.values,
        }));
        const single = wire.length === 1 && asIso;
        const r = parseTelemetry(enc(single ? wire[0] : wire), { arrivedAt });
        expect(r).toEqual(points.map((p) => ({ ...p, values: { ...p.values } })));
      }),
    );
  });
});

describe('checkAgainstKind', () => {
  const at = (values: Record<string, number>) => [{ ts: arrivedAt, seq: null, values }];
  it.each<[string, Record<string, number>, string]>([
    ['water_level', { level: 0.4 }, 'OK'],
    ['water_level', { level: 3.5 }, 'OUT_OF_RANGE'],
    ['water_level', { depth: 1 }, 'UNKNOWN_METRIC'],
    ['manhole', { tilt: 20, open: 1 }, 'OK'],
    ['manhole', { tilt: 95 }, 'OUT_OF_RANGE'],
    ['noise', { laeq: 20 }, 'OUT_OF_RANGE'],
    ['air_quality', { pm25: 80, pm10: 120, no2: 40 }, 'OK'],
    ['streetlight', { power: 260 }, 'OUT_OF_RANGE'],
  ])('%s %o', (kind, values, expected) => {
    const r = checkAgainstKind(kind, at(values));
    expect(r?.code ?? 'OK').toBe(expected);
  });
});

describe('parseStatus', () => {
  it.each<[string, { online: boolean } | undefined]>([
    ['{"online":true}', { online: true }],
    ['{"online":false,"battery":80}', { online: false }],
    ['{"online":"yes"}', undefined],
    ['', undefined],
    ['nope', undefined],
  ])('%s', (payload, expected) => {
    expect(parseStatus(Buffer.from(payload))).toEqual(expected);
  });
});
