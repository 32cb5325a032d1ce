// Short-lived notices ("Bob joined", "Link copied") at the bottom left.

import { useCallback, useEffect, useRef, useState } from "react";

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
    timers.current.push(window.setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), 4000));
  }, []);
  return [toasts, push];
}

export function Toasts({ toasts }: { toasts: Toast[] }) {
  return (
    <div className="toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className="toast">
          {t.text}
        </div>
      ))}
    </div>
  );
}
