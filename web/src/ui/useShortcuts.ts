// Listens for the meeting's keyboard shortcuts (see shortcuts.ts).

import { useEffect, useRef } from "react";
import { shortcutFor, type ShortcutAction } from "./shortcuts";

export function useShortcuts(handlers: Partial<Record<ShortcutAction, () => void>>): void {
  const ref = useRef(handlers);
  ref.current = handlers;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      const inField = !!t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
      const action = shortcutFor({ ...e, key: e.key, ctrlKey: e.ctrlKey, metaKey: e.metaKey, altKey: e.altKey, shiftKey: e.shiftKey, inField });
      const run = action && ref.current[action];
      if (!run) return;
      e.preventDefault(); // not "bookmark this page", the search box, …
      run();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
