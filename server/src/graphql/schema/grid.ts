/** Grid cells (网格): the point lookup and the scoped list for the map. */

import { reportCaseInput } from '../../domain/cases/report';
import { parseInput } from '../../domain/errors';
import { toWgs84 } from '../../domain/geo/crs';
import { type GridCellView, gridAt, listGridCells } from '../../domain/grids/cells';
import { builder } from '../builder';
import { actorOf } from '../context';
import { RegionRef } from './region';
import { BBoxInput, PointInput } from './scalars';

export const GridCellRef = builder.objectRef<GridCellView>('GridCell').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    code: t.exposeString('code'),
    name: t.exposeString('name'),
    areaM2: t.exposeFloat('areaM2'),
    community: t.field({
      type: RegionRef,
      resolve: async (c, _args, ctx) => (await ctx.loaders.regions.load(c.communityId))!,
    }),
    street: t.field({
      type: RegionRef,
      resolve: async (c, _args, ctx) => (await ctx.loaders.regions.load(c.streetId))!,
    }),
    district: t.field({
      type: RegionRef,
      resolve: async (c, _args, ctx) => (await ctx.loaders.regions.load(c.districtId))!,
    }),
    geometry: t.field({
      type: 'JSON',
      description: 'The outline as a GeoJSON Polygon (WGS84).',
      resolve: async (c, _args, ctx) =>
        c.geometry ?? (await ctx.loaders.gridCellGeometry.load(c.id))?.geometry ?? null,
    }),
  }),
});

const pointSchema = reportCaseInput.shape.location;

builder.queryField('gridAt', (t) =>
  t.field({
    type: GridCellRef,
    nullable: true,
    description:
      'The grid cell containing the point (on a shared edge: the cell with the lowest id among those covering it). ' +
      'Null when the point lies outside every cell, or in a cell outside your region scope.',
    authScopes: { loggedIn: true },
    args: { location: t.arg({ type: PointInput, required: true }) },
    resolve: (_root, args, ctx) => {
      const p = parseInput(pointSchema, args.location);
      return gridAt(ctx.db, actorOf(ctx), toWgs84(p, p.crs ?? 'WGS84'));
    },
  }),
);

builder.queryField('gridCells', (t) =>
  t.field({
    type: [GridCellRef],
    description: 'Grid cells inside your region scope, optionally only those meeting a box, with outlines.',
    authScopes: { loggedIn: true },
    args: { bbox: t.arg({ type: BBoxInput, required: false }) },
    resolve: (_root, args, ctx) =>
      listGridCells(ctx.db, actorOf(ctx), { bbox: args.bbox, withGeometry: true }),
  }),
);
