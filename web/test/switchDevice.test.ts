// Switching devices: a phone's one-camera-at-a-time "busy", and a device that fails to open
// leaving the working one in place.

import { describe, expect, it } from "vitest";
import type { MediaErrorKind } from "../src/media/devices";
import { keptNotice, openInstead, type Opened } from "../src/media/switchDevice";

class FakeTrack {
  readyState = "live";
  constructor(readonly name: string) {}
  stop() {
    this.readyState = "ended";
  }
}

/** Answers each open with the next outcome: a track name, or an error. */
function opener(outcomes: (string | MediaErrorKind)[]) {
  const errors = new Set(["denied", "no_device", "busy", "unsupported", "other"]);
  let calls = 0;
  const open = async (): Promise<Opened<FakeTrack>> => {
    const o = outcomes[calls++];
    return errors.has(o) ? { track: null, error: o as MediaErrorKind } : { track: new FakeTrack(o), error: null };
  };
  return { open, calls: () => calls };
}

describe("opening another device", () => {
  it("uses the new track and leaves stopping the old one to the caller", async () => {
    const old = new FakeTrack("front");
    const o = opener(["back"]);
    const r = await openInstead(o.open, old);
    expect(r.track?.name).toBe("back");
    expect(r.kept).toBe(false);
    expect(old.readyState).toBe("live");
  });

  it("lets go of the old camera and asks again when the new one is busy (phones)", async () => {
    const old = new FakeTrack("front");
    const o = opener(["busy", "back"]);
    const r = await openInstead(o.open, old);
    expect(o.calls()).toBe(2);
    expect(old.readyState).toBe("ended");
    expect(r).toMatchObject({ error: null, kept: false });
    expect(r.track?.name).toBe("back");
  });

  it("keeps the working camera when the new one will not open", async () => {
    const old = new FakeTrack("front");
    const r = await openInstead(opener(["no_device"]).open, old);
    expect(r).toEqual({ track: old, error: "no_device", kept: true });
    expect(old.readyState).toBe("live");
    expect(keptNotice("camera", r.error)).toBe("No camera was found. Still using the one you had.");
  });

  it("reports the error when there was nothing to keep", async () => {
    expect(await openInstead(opener(["denied"]).open, null)).toEqual({ track: null, error: "denied", kept: false });
    const ended = new FakeTrack("gone");
    ended.stop();
    expect(await openInstead(opener(["busy"]).open, ended)).toMatchObject({ track: null, error: "busy", kept: false });
  });
});
