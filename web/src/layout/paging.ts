// The grid's pages: `cap` tiles a page, the page asked for clamped to those that exist (a
// page can empty out when people leave).

export interface Page<T> {
  items: T[];
  /** 0-based, clamped. */
  page: number;
  pageCount: number;
}

export function pageOf<T>(items: T[], cap: number, page: number): Page<T> {
  const size = Math.max(1, Math.floor(cap));
  const pageCount = Math.max(1, Math.ceil(items.length / size));
  const p = Math.min(Math.max(0, Math.floor(page)), pageCount - 1);
  return { items: items.slice(p * size, (p + 1) * size), page: p, pageCount };
}
