// The announcer: one call from anywhere reaches the live region.

import { describe, expect, it } from "vitest";
import { announce, onAnnounce } from "../src/ui/announcer";

describe("announcer", () => {
  it("delivers each announcement to every listener until it unsubscribes", () => {
    const heard: string[] = [];
    const off = onAnnounce((t) => heard.push(t));
    announce("Bob joined");
    announce("Bob joined");
    announce("  Ann raised a hand  ");
    off();
    announce("Bob left");
    expect(heard).toEqual(["Bob joined", "Bob joined", "Ann raised a hand"]);
  });

  it("says nothing for blank text", () => {
    const heard: string[] = [];
    const off = onAnnounce((t) => heard.push(t));
    announce("   ");
    off();
    expect(heard).toEqual([]);
  });
});
