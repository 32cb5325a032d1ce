// Room codes (`abc-defg-hij`) typed by hand or pasted as meeting links.

const CODE = /^[a-z0-9_-]{1,64}$/;

/** The room code in `input` (a bare code or a link), or null. */
export function parseRoomInput(input: string): string | null {
  const text = input.trim();
  if (!text) return null;
  let candidate = text;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) || text.startsWith("/")) {
    try {
      const path = new URL(text, "http://x").pathname;
      candidate = path.split("/").filter(Boolean).pop() ?? "";
    } catch {
      return null;
    }
  }
  candidate = candidate.toLowerCase().replace(/\s+/g, "");
  // People type "abcdefghij" without dashes: restore the 3-4-3 shape.
  if (/^[a-z]{10}$/.test(candidate)) {
    candidate = `${candidate.slice(0, 3)}-${candidate.slice(3, 7)}-${candidate.slice(7)}`;
  }
  return CODE.test(candidate) ? candidate : null;
}

/** The room code in a page path like `/abc-defg-hij`, or null for the home page. */
export function codeFromPath(pathname: string): string | null {
  const seg = pathname.split("/").filter(Boolean);
  if (seg.length !== 1) return null;
  const c = decodeURIComponent(seg[0]);
  return CODE.test(c) ? c : null;
}
