// The right-hand panel frame shared by chat and the participant list.

import type { ReactNode } from "react";
import { Icon } from "./icons";

export function SidePanel({ title, onClose, children }: { title: string; onClose(): void; children: ReactNode }) {
  return (
    <aside className="side-panel" aria-label={title}>
      <header className="side-panel-head">
        <h2>{title}</h2>
        <button type="button" className="icon-btn" aria-label={`Close ${title.toLowerCase()}`} onClick={onClose}>
          <Icon name="close" />
        </button>
      </header>
      {children}
    </aside>
  );
}
