// The meeting's keyboard shortcuts (Meet's): one table the key handler and the help dialog
// both read, so what the dialog lists is what works.

export type ShortcutAction = "mic" | "camera" | "hand" | "chat" | "people" | "help";

export interface Shortcut {
  action: ShortcutAction;
  keys: string;
  what: string;
}

const mod = () => (typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform) ? "⌘" : "Ctrl");

export function shortcuts(): Shortcut[] {
  const m = mod();
  return [
    { action: "mic", keys: `${m} + D`, what: "Turn the microphone on or off" },
    { action: "camera", keys: `${m} + E`, what: "Turn the camera on or off" },
    { action: "hand", keys: `${m} + Alt + H`, what: "Raise or lower your hand" },
    { action: "chat", keys: `${m} + Alt + C`, what: "Open or close the chat" },
    { action: "people", keys: `${m} + Alt + P`, what: "Show or hide everyone" },
    { action: "help", keys: "?", what: "Show these shortcuts" },
  ];
}

interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
  /** Typing in a field: only the modifier shortcuts apply. */
  inField: boolean;
}

/** The action a key press asks for, if any. */
export function shortcutFor(e: KeyLike): ShortcutAction | null {
  const modDown = e.ctrlKey || e.metaKey;
  if (!modDown) return e.key === "?" && !e.inField ? "help" : null;
  if (e.shiftKey) return null;
  // With Alt, macOS gives a composed character in `key`; the letter is what was meant.
  const key = e.key.toLowerCase();
  if (!e.altKey) return key === "d" ? "mic" : key === "e" ? "camera" : null;
  return ({ h: "hand", "˙": "hand", c: "chat", ç: "chat", p: "people", π: "people" } as Record<string, ShortcutAction>)[key] ?? null;
}
