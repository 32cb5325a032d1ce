// A host's meeting controls in the control bar: a button opening a small panel with the
// lock and lobby toggles and "End meeting for all" (disclosure pattern, so the toggles can be
// real toggle buttons: Escape or a click outside closes it).

import { useId, useRef, useState } from "react";
import { ConfirmDialog } from "./ConfirmDialog";
import { Icon } from "./icons";
import { usePopover } from "./usePopover";

interface Props {
  locked: boolean;
  onLock(locked: boolean): void;
  /** Guests knock to join. */
  lobby: boolean;
  onLobby(enabled: boolean): void;
  onEnd(): void;
}

export function HostMenu({ locked, onLock, lobby, onLobby, onEnd }: Props) {
  const [confirming, setConfirming] = useState(false);
  const first = useRef<HTMLButtonElement>(null);
  const id = useId();
  const { open, setOpen, root, button, close } = usePopover(() => first.current?.focus());

  return (
    <div className="layout-menu host-menu" ref={root}>
      <button
        ref={button}
        type="button"
        className={`round-btn${open ? " active" : ""}`}
        aria-label="Host controls"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        title="Host controls"
        onClick={() => setOpen((o) => !o)}
      >
        <Icon name="shield" />
      </button>
      {open && (
        <div
          id={id}
          className="menu"
          role="group"
          aria-label="Host controls"
          onKeyDown={(e) => {
            if (e.key !== "Escape") return;
            e.preventDefault();
            close();
          }}
        >
          {/* Stays open: a toggle flips when the server confirms the change. */}
          <button ref={first} type="button" className="menu-item" aria-pressed={locked} onClick={() => onLock(!locked)}>
            <span className="menu-check" aria-hidden="true">
              <Icon name="lock" size={18} />
            </span>
            Lock meeting
            <span className="switch" aria-hidden="true" />
          </button>
          <button type="button" className="menu-item" aria-pressed={lobby} onClick={() => onLobby(!lobby)}>
            <span className="menu-check" aria-hidden="true">
              <Icon name="door" size={18} />
            </span>
            Guests knock to join
            <span className="switch" aria-hidden="true" />
          </button>
          <button
            type="button"
            className="menu-item menu-item-danger"
            onClick={() => {
              setOpen(false);
              setConfirming(true);
            }}
          >
            <span className="menu-check" aria-hidden="true">
              <Icon name="callEnd" size={18} />
            </span>
            End meeting for all
          </button>
        </div>
      )}
      {confirming && (
        <ConfirmDialog
          title="End the meeting for everyone?"
          body="The call ends for everyone in it, you included."
          confirm="End meeting"
          onConfirm={() => {
            setConfirming(false);
            onEnd();
          }}
          onCancel={() => {
            setConfirming(false);
            button.current?.focus();
          }}
        />
      )}
    </div>
  );
}
