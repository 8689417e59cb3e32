/** The whole domain schema, one file per aggregate. */

export * from './cases';
export * from './categories';
export * from './enums';
export * from './operations';
export * from './people';
export * from './places';
export * from './sensors';
