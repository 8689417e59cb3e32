/** Scalars, shared enums and the small input/output shapes (points, boxes) other types use. */
import type { LonLat } from '@citygrid/db';
import {
  casePriority,
  caseSource,
  caseStatus,
  categoryKind,
  regionLevel,
  userRole,
} from '@citygrid/db/schema';
import { Kind } from 'graphql';
import { BadUserInput } from '../../domain/errors';
import { builder } from '../builder';

function parseDateTime(value: unknown): Date {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}(T|$)/.test(value)) {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new BadUserInput('DateTime must be an ISO-8601 string');
}

builder.scalarType('DateTime', {
  description: 'An instant as an ISO-8601 string, e.g. 2026-11-27T08:00:00.000Z.',
  serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString()),
  parseValue: parseDateTime,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) {
      throw new BadUserInput('DateTime must be a string');
    }
    return parseDateTime(ast.value);
  },
});

builder.scalarType('JSON', {
  description: 'Any JSON value (GeoJSON geometries, sensor values, event payloads).',
  serialize: (value) => value,
  parseValue: (value) => value,
});

export const RoleEnum = builder.enumType('Role', { values: userRole.enumValues });
export const RegionLevelEnum = builder.enumType('RegionLevel', { values: regionLevel.enumValues });
export const CaseStatusEnum = builder.enumType('CaseStatus', { values: caseStatus.enumValues });
export const CasePriorityEnum = builder.enumType('CasePriority', { values: casePriority.enumValues });
export const CaseSourceEnum = builder.enumType('CaseSource', { values: caseSource.enumValues });
export const CategoryKindEnum = builder.enumType('CategoryKind', {
  description: 'COMPONENT: 部件, a public asset; EVENT: 事件, a situation.',
  values: categoryKind.enumValues,
});
export const CrsEnum = builder.enumType('Crs', {
  description: 'Coordinate system of a point given to the API. Points the API returns are always WGS84.',
  values: {
    WGS84: { description: 'GPS / CGCS2000 longitude and latitude.' },
    GCJ02: { description: 'The offset system of Chinese map SDKs (AMap, Tencent).' },
    BD09: { description: "Baidu's system." },
  } as const,
});

export const PointRef = builder.objectRef<LonLat>('Point').implement({
  description: 'A WGS84 point in degrees.',
  fields: (t) => ({
    lon: t.exposeFloat('lon'),
    lat: t.exposeFloat('lat'),
  }),
});

export const PointInput = builder.inputType('PointInput', {
  fields: (t) => ({
    lon: t.float({ required: true }),
    lat: t.float({ required: true }),
    crs: t.field({ type: CrsEnum, required: false, defaultValue: 'WGS84' }),
  }),
});

export const BBoxInput = builder.inputType('BBoxInput', {
  description: 'A WGS84 box in degrees.',
  fields: (t) => ({
    minLon: t.float({ required: true }),
    minLat: t.float({ required: true }),
    maxLon: t.float({ required: true }),
    maxLat: t.float({ required: true }),
  }),
});
