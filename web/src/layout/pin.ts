// Who is pinned, by participant id and identity: someone who reconnects comes back under a
// new participant id (a page reload, a new device), and their pin should stay with them.

export interface Pin {
  id: string;
  identity?: string;
}

/** The pinned tile's id now: the same participant, else the same person under a new id. */
export function resolvePin(pin: Pin | null, tiles: { id: string; identity?: string }[]): string | null {
  if (pin === null) return null;
  if (tiles.some((t) => t.id === pin.id)) return pin.id;
  if (pin.identity === undefined) return null;
  return tiles.find((t) => t.identity === pin.identity)?.id ?? null;
}
