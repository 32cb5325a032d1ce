// Join links that carry a token (`/{code}?t=<token>`, as the room API's invite links do):
// the page joins with that token instead of asking for a guest one, and the token leaves the
// address bar at once so it is not bookmarked, shared on or kept in history.

/** An invite token for one room, with the name it was issued to (if it carries one). */
export interface Invite {
  code: string;
  token: string;
  name: string | null;
}

/** The claims a join token's payload carries that the page uses (it verifies nothing). */
export function inviteClaims(token: string): { room?: string; name?: string } | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === "object" ? (claims as { room?: string; name?: string }) : null;
  } catch {
    return null;
  }
}

/**
 * Takes the `t` parameter out of `url` (returning the address without it) and the invite it
 * holds for the meeting `code` (the path's room code).
 */
export function splitInvite(url: URL, code: string | null): { invite: Invite | null; cleaned: string | null } {
  const token = url.searchParams.get("t");
  if (token === null) return { invite: null, cleaned: null };
  url.searchParams.delete("t");
  const cleaned = `${url.pathname}${url.search}${url.hash}`;
  if (!code || !token) return { invite: null, cleaned };
  const claims = inviteClaims(token);
  const name = typeof claims?.name === "string" && claims.name.trim() ? claims.name.trim() : null;
  return { invite: { code, token, name }, cleaned };
}

let pending: Invite | null = null;

/** Reads (once, at page load) and hides an invite from the address bar. */
export function captureInvite(code: string | null): void {
  const { invite, cleaned } = splitInvite(new URL(window.location.href), code);
  if (cleaned !== null) window.history.replaceState(window.history.state, "", cleaned);
  if (invite) pending = invite;
}

/** The invite for `code`, if the page was opened with one; `null` otherwise. */
export function inviteFor(code: string): Invite | null {
  return pending?.code === code ? pending : null;
}
