// Dynacast: the node says which simulcast encodings of one of our tracks anyone receives
// (`publisher_layers`); the others are switched off so they cost neither CPU nor uplink.

export interface EncodingState {
  rid?: string;
  active?: boolean;
}

/**
 * `encodings` with `active` set for the requested `rids`, or null when nothing changes
 * (no `setParameters` call needed). An encoding without a RID (a track sent without
 * simulcast) stays on unless the list is empty. If none of our RIDs is requested but some
 * are (the node names layers we do not send), everything stays on: better a wasted layer
 * than a frozen tile.
 */
export function activateEncodings<E extends EncodingState>(
  encodings: E[],
  rids: string[],
): (E & { active: boolean })[] | null {
  const known = encodings.some((e) => e.rid !== undefined && rids.includes(e.rid));
  const wants = (e: E) => {
    if (rids.length === 0) return false;
    if (e.rid === undefined || e.rid === "" || !known) return true;
    return rids.includes(e.rid);
  };
  // `active` is true when absent.
  if (encodings.every((e) => (e.active ?? true) === wants(e))) return null;
  return encodings.map((e) => ({ ...e, active: wants(e) }));
}
