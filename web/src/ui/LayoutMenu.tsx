// The layout picker in the control bar: a button opening a menu of Auto / Speaker / Grid
// (menu button pattern: arrow keys move, Escape closes and returns focus).

import { useRef } from "react";
import { LAYOUT_CHOICES, type LayoutChoice } from "../layout/spotlight";
import { Icon } from "./icons";
import { usePopover } from "./usePopover";

interface Props {
  choice: LayoutChoice;
  onChoose(choice: LayoutChoice): void;
}

export function LayoutMenu({ choice, onChoose }: Props) {
  const items = useRef<(HTMLButtonElement | null)[]>([]);
  const { open, setOpen, root, button, close } = usePopover(() => {
    const current = LAYOUT_CHOICES.findIndex((c) => c.value === choice);
    items.current[Math.max(0, current)]?.focus();
  });
  const onKeyDown = (e: React.KeyboardEvent) => {
    const i = items.current.findIndex((el) => el === document.activeElement);
    const n = LAYOUT_CHOICES.length;
    const focus = (j: number) => items.current[(j + n) % n]?.focus();
    if (e.key === "Escape") close();
    else if (e.key === "ArrowDown") focus(i + 1);
    else if (e.key === "ArrowUp") focus(i - 1);
    else if (e.key === "Home") focus(0);
    else if (e.key === "End") focus(n - 1);
    else if (e.key === "Tab") setOpen(false);
    else return;
    e.preventDefault();
  };
  const label = LAYOUT_CHOICES.find((c) => c.value === choice)?.label ?? "";

  return (
    <div className="layout-menu" ref={root}>
      <button
        ref={button}
        type="button"
        className={`round-btn${open ? " active" : ""}`}
        aria-label="Change layout"
        aria-haspopup="menu"
        aria-expanded={open}
        title={`Layout: ${label}`}
        onClick={() => setOpen((o) => !o)}
      >
        <Icon name="layout" />
      </button>
      {open && (
        <div className="menu" role="menu" aria-label="Layout" onKeyDown={onKeyDown}>
          {LAYOUT_CHOICES.map((c, i) => (
            <button
              key={c.value}
              ref={(el) => {
                items.current[i] = el;
              }}
              type="button"
              role="menuitemradio"
              aria-checked={c.value === choice}
              className="menu-item"
              tabIndex={-1}
              onClick={() => {
                onChoose(c.value);
                close();
              }}
            >
              <span className="menu-check" aria-hidden="true">
                {c.value === choice && <Icon name="check" size={18} />}
              </span>
              {c.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
