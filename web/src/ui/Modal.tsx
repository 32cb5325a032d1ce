// A modal dialog on the native <dialog>: focus stays inside while it is open, Escape and
// the Close button close it, and focus returns to where it was.

import { useEffect, useId, useRef, type ReactNode } from "react";
import { Icon } from "./icons";

interface Props {
  title: string;
  onClose(): void;
  children: ReactNode;
  className?: string;
}

export function Modal({ title, onClose, children, className }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    // React removes the dialog before this cleanup runs, and a detached dialog's close()
    // gives focus back to nothing: put it back on what opened the dialog ourselves.
    const opener = document.activeElement as HTMLElement | null;
    if (d && !d.open) d.showModal();
    return () => {
      d?.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      className={`modal ${className ?? ""}`}
      aria-labelledby={`${id}-title`}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <div className="modal-head">
        <h2 id={`${id}-title`}>{title}</h2>
        <button type="button" className="icon-btn" aria-label="Close" onClick={onClose}>
          <Icon name="close" size={20} />
        </button>
      </div>
      {children}
    </dialog>
  );
}
