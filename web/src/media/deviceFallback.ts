// What to do when the devices change mid-call (`devicechange`): keep the device in use if
// it is still there, else fall back to the system default (or the first one left), and say
// so in words.

export interface DeviceLike {
  deviceId: string;
  label: string;
}

export type Fallback<D extends DeviceLike> =
  | { kind: "keep" }
  /** The device in use went away: switch to `device`. */
  | { kind: "switch"; device: D }
  /** It went away and none is left. */
  | { kind: "gone" };

/** The decision for the device `currentId` given the devices now present. */
export function fallbackFor<D extends DeviceLike>(currentId: string, now: D[]): Fallback<D> {
  if (!currentId || now.some((d) => d.deviceId === currentId)) return { kind: "keep" };
  const device = now.find((d) => d.deviceId === "default") ?? now[0];
  return device ? { kind: "switch", device } : { kind: "gone" };
}

/** The notice for a fallback of a camera, microphone or speaker. */
export function fallbackNotice(what: "camera" | "microphone" | "speaker", f: Fallback<DeviceLike>): string | null {
  switch (f.kind) {
    case "keep":
      return null;
    case "switch":
      return `Your ${what} was disconnected; switched to ${f.device.label || `the default ${what}`}`;
    case "gone":
      return `Your ${what} was disconnected`;
  }
}

/** Whether this browser can choose where audio plays (`HTMLMediaElement.setSinkId`). */
export function canPickSpeaker(): boolean {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}
