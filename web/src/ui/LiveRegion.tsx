// The app's one polite live region (see announcer.ts). It is visually hidden; the last few
// announcements stay in it briefly so a reader that was busy still finds them, and each is
// a new node so the same words twice ("Bob joined", "Bob joined") are read twice.

import { useEffect, useRef, useState } from "react";
import { onAnnounce } from "./announcer";

const KEEP_MS = 7000;

export function LiveRegion() {
  const [items, setItems] = useState<{ id: number; text: string }[]>([]);
  const next = useRef(0);
  useEffect(() => {
    const timers = new Set<number>();
    const off = onAnnounce((text) => {
      const id = ++next.current;
      setItems((cur) => [...cur.slice(-2), { id, text }]);
      const t = window.setTimeout(() => {
        timers.delete(t);
        setItems((cur) => cur.filter((x) => x.id !== id));
      }, KEEP_MS);
      timers.add(t);
    });
    return () => {
      off();
      timers.forEach(clearTimeout);
    };
  }, []);
  return (
    <div className="visually-hidden" role="status" aria-live="polite" data-testid="announcements">
      {items.map((i) => (
        <p key={i.id}>{i.text}</p>
      ))}
    </div>
  );
}
