/**
 * Units live in types: bytes inside, formatting at the edge (report/).
 * kB and pages become bytes in the parser that reads them.
 */

export type Bytes = number & { readonly __unit: 'bytes' };
export type Seconds = number & { readonly __unit: 'seconds' };

export const bytes = (n: number): Bytes => n as Bytes;
export const kib = (n: number): Bytes => (n * 1024) as Bytes;
export const mib = (n: number): Bytes => (n * 1024 * 1024) as Bytes;
export const seconds = (n: number): Seconds => n as Seconds;

/** The page size assumed when a file counts pages and the target did not tell us its own. */
export const DEFAULT_PAGE_SIZE = 4096;
export const pages = (n: number, pageSize: number = DEFAULT_PAGE_SIZE): Bytes => (n * pageSize) as Bytes;
