// A control-bar button that opens a small popup (the layout, reactions and host menus):
// opening focuses the popup's first item, a click outside closes it, and closing with
// Escape or a choice gives focus back to the button.

import { useEffect, useRef, useState } from "react";

export function usePopover(focusOnOpen: () => void) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const focus = useRef(focusOnOpen);
  focus.current = focusOnOpen;

  useEffect(() => {
    if (!open) return;
    focus.current();
    const onDown = (e: PointerEvent) => {
      if (!root.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("pointerdown", onDown);
    return () => document.removeEventListener("pointerdown", onDown);
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  return { open, setOpen, root, button, close };
}
