// Meet's keyboard shortcuts: Ctrl/Cmd+D toggles the mic, Ctrl/Cmd+E the camera.

import { useEffect } from "react";

export function useShortcuts(toggleMic: () => void, toggleCamera: () => void): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return;
      const key = e.key.toLowerCase();
      if (key === "d") {
        e.preventDefault(); // not "bookmark this page"
        toggleMic();
      } else if (key === "e") {
        e.preventDefault(); // not the browser's search box
        toggleCamera();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [toggleMic, toggleCamera]);
}
