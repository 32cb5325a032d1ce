// Screen-reader announcements: one polite live region for the whole app (LiveRegion.tsx),
// fed from anywhere with `announce("Bob joined")` — no prop threading, so a new feature
// (raised hands, say) announces with one call.

type Listener = (text: string) => void;

const listeners = new Set<Listener>();

/** Says `text` through the live region (politely: after what the reader is saying now). */
export function announce(text: string): void {
  const t = text.trim();
  if (!t) return;
  for (const l of listeners) l(t);
}

/** For the live region itself (and tests): hears every announcement. */
export function onAnnounce(listener: Listener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}
