// In-call device handling: what to fall back to when the device in use goes away, and what
// the person is told; the keyboard shortcut table.

import { describe, expect, it } from "vitest";
import { fallbackFor, fallbackNotice } from "../src/media/deviceFallback";
import { shortcutFor, shortcuts } from "../src/ui/shortcuts";

const dev = (deviceId: string, label = deviceId) => ({ deviceId, label });

describe("device fallback", () => {
  it("keeps the device in use while it is there", () => {
    expect(fallbackFor("cam-2", [dev("cam-1"), dev("cam-2")])).toEqual({ kind: "keep" });
    // Nothing chosen (camera off): nothing to do.
    expect(fallbackFor("", [])).toEqual({ kind: "keep" });
  });

  it("falls back to the system default, else the first device left", () => {
    const now = [dev("cam-1", "Desk camera"), dev("default", "Default"), dev("cam-3")];
    expect(fallbackFor("usb-cam", now)).toEqual({ kind: "switch", device: now[1] });
    expect(fallbackFor("usb-cam", [dev("cam-1", "Desk camera")])).toEqual({ kind: "switch", device: dev("cam-1", "Desk camera") });
    expect(fallbackFor("usb-cam", [])).toEqual({ kind: "gone" });
  });

  it("says what happened", () => {
    expect(fallbackNotice("camera", { kind: "switch", device: dev("x", "Desk camera") })).toBe(
      "Your camera was disconnected; switched to Desk camera",
    );
    expect(fallbackNotice("microphone", { kind: "switch", device: dev("x", "") })).toBe(
      "Your microphone was disconnected; switched to the default microphone",
    );
    expect(fallbackNotice("speaker", { kind: "gone" })).toBe("Your speaker was disconnected");
    expect(fallbackNotice("camera", { kind: "keep" })).toBeNull();
  });
});

describe("keyboard shortcuts", () => {
  const key = (k: string, mods: Partial<{ ctrl: boolean; alt: boolean; shift: boolean; inField: boolean }> = {}) => ({
    key: k,
    ctrlKey: !!mods.ctrl,
    metaKey: false,
    altKey: !!mods.alt,
    shiftKey: !!mods.shift,
    inField: !!mods.inField,
  });

  it("maps Meet's keys", () => {
    expect(shortcutFor(key("d", { ctrl: true }))).toBe("mic");
    expect(shortcutFor(key("E", { ctrl: true }))).toBe("camera");
    expect(shortcutFor(key("h", { ctrl: true, alt: true }))).toBe("hand");
    expect(shortcutFor(key("c", { ctrl: true, alt: true }))).toBe("chat");
    expect(shortcutFor(key("p", { ctrl: true, alt: true }))).toBe("people");
    expect(shortcutFor(key("?"))).toBe("help");
  });

  it("leaves typing alone", () => {
    expect(shortcutFor(key("?", { inField: true }))).toBeNull();
    expect(shortcutFor(key("d"))).toBeNull();
    expect(shortcutFor(key("d", { ctrl: true, shift: true }))).toBeNull();
  });

  it("lists every action once in the help dialog", () => {
    const actions = shortcuts().map((s) => s.action);
    expect(new Set(actions).size).toBe(actions.length);
    expect(actions).toEqual(["mic", "camera", "hand", "chat", "people", "help"]);
  });
});
