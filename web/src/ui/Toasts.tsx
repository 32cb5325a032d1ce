// Short-lived notices ("Bob joined", "Link copied") at the bottom left, each also announced
// to screen readers through the app's live region (announcer.ts).

import { useCallback, useEffect, useRef, useState } from "react";
import { announce } from "./announcer";

interface Toast {
  id: number;
  text: string;
}

export function useToasts(): [Toast[], (text: string) => void] {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(0);
  const timers = useRef<number[]>([]);
  useEffect(() => () => timers.current.forEach(clearTimeout), []);
  const push = useCallback((text: string) => {
    const id = ++next.current;
    setToasts((t) => [...t.slice(-3), { id, text }]);
    announce(text);
    timers.current.push(window.setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), 4000));
  }, []);
  return [toasts, push];
}

export function Toasts({ toasts }: { toasts: Toast[] }) {
  return (
    // Not a live region itself: the announcer already says each one.
    <div className="toasts">
      {toasts.map((t) => (
        <div key={t.id} className="toast">
          {t.text}
        </div>
      ))}
    </div>
  );
}
