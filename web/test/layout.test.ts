// The stage's pure decisions: tiles a grid page holds, pages, which layout, what goes large,
// and what the adaptive-stream report says about the videos on screen.

import { describe, expect, it } from "vitest";
import { displayedSizes } from "../src/layout/displayed";
import { pageOf } from "../src/layout/paging";
import { chooseSpotlight, effectiveLayout, followSpeaker } from "../src/layout/spotlight";
import { tileCapFor } from "../src/layout/tileCap";
import { resolvePin } from "../src/layout/pin";

describe("tileCapFor", () => {
  it("gives bigger windows more tiles: 4, 9, 16, 25", () => {
    expect(tileCapFor(390, 844)).toBe(4); // a phone
    expect(tileCapFor(800, 600)).toBe(4);
    expect(tileCapFor(1280, 720)).toBe(9);
    expect(tileCapFor(1440, 900)).toBe(9);
    expect(tileCapFor(1920, 1080)).toBe(16);
    expect(tileCapFor(2560, 1440)).toBe(25);
    expect(tileCapFor(0, 0)).toBe(4);
  });
});

describe("pageOf", () => {
  const items = Array.from({ length: 20 }, (_, i) => i);
  it("slices cap items a page", () => {
    expect(pageOf(items, 9, 0)).toEqual({ items: [0, 1, 2, 3, 4, 5, 6, 7, 8], page: 0, pageCount: 3 });
    expect(pageOf(items, 9, 2)).toEqual({ items: [18, 19], page: 2, pageCount: 3 });
  });
  it("clamps a page that no longer exists (people left) and a negative one", () => {
    expect(pageOf(items.slice(0, 5), 9, 2)).toEqual({ items: [0, 1, 2, 3, 4], page: 0, pageCount: 1 });
    expect(pageOf(items, 9, -1).page).toBe(0);
  });
  it("an empty room is one empty page", () => {
    expect(pageOf([], 4, 0)).toEqual({ items: [], page: 0, pageCount: 1 });
  });
});

describe("effectiveLayout", () => {
  it("a pin always shows the speaker view", () => {
    expect(effectiveLayout("grid", { pinned: true, sharing: false })).toBe("speaker");
    expect(effectiveLayout("auto", { pinned: true, sharing: false })).toBe("speaker");
  });
  it("auto spotlights a screen share, else shows the grid", () => {
    expect(effectiveLayout("auto", { pinned: false, sharing: true })).toBe("speaker");
    expect(effectiveLayout("auto", { pinned: false, sharing: false })).toBe("grid");
  });
  it("an explicit choice holds", () => {
    expect(effectiveLayout("grid", { pinned: false, sharing: true })).toBe("grid");
    expect(effectiveLayout("speaker", { pinned: false, sharing: false })).toBe("speaker");
  });
});

describe("chooseSpotlight", () => {
  const tiles = [
    { id: "me", isSelf: true },
    { id: "bob", isSelf: false },
    { id: "cy", isSelf: false },
  ];
  it("the pinned participant, before a share or a speaker", () => {
    expect(chooseSpotlight({ tiles, shareCount: 1, pinnedId: "cy", speakerId: "bob" })).toEqual({ kind: "tile", id: "cy" });
  });
  it("else a screen share", () => {
    expect(chooseSpotlight({ tiles, shareCount: 2, pinnedId: null, speakerId: "bob" })).toEqual({ kind: "share", index: 0 });
  });
  it("else the active speaker", () => {
    expect(chooseSpotlight({ tiles, shareCount: 0, pinnedId: null, speakerId: "cy" })).toEqual({ kind: "tile", id: "cy" });
  });
  it("else someone else, and only when alone ourselves", () => {
    expect(chooseSpotlight({ tiles, shareCount: 0, pinnedId: null, speakerId: null })).toEqual({ kind: "tile", id: "bob" });
    expect(chooseSpotlight({ tiles: [tiles[0]], shareCount: 0, pinnedId: null, speakerId: null })).toEqual({ kind: "tile", id: "me" });
    expect(chooseSpotlight({ tiles: [], shareCount: 0, pinnedId: null, speakerId: null })).toBeNull();
  });
  it("ignores a pin or speaker who has left", () => {
    expect(chooseSpotlight({ tiles, shareCount: 0, pinnedId: "gone", speakerId: "gone" })).toEqual({ kind: "tile", id: "bob" });
  });
});

describe("followSpeaker", () => {
  const present = ["me", "bob", "cy"];
  const lv = (participant_id: string, level = 50) => ({ participant_id, level });
  it("follows the loudest remote speaker, never ourselves", () => {
    expect(followSpeaker(null, [lv("me", 90), lv("cy", 40), lv("bob", 20)], "me", present)).toBe("cy");
  });
  it("keeps the last speaker through silence, until they leave", () => {
    expect(followSpeaker("bob", [], "me", present)).toBe("bob");
    expect(followSpeaker("bob", [lv("me")], "me", present)).toBe("bob");
    expect(followSpeaker("bob", [], "me", ["me", "cy"])).toBeNull();
  });
  it("skips speakers not (yet) in the roster", () => {
    expect(followSpeaker(null, [lv("new"), lv("bob")], "me", present)).toBe("bob");
  });
});

describe("displayedSizes", () => {
  const v = (trackId: string, width: number, height: number, onScreen = true, pinned = false) => ({
    trackId,
    width,
    height,
    onScreen,
    pinned,
  });
  it("reports on-screen videos in device pixels", () => {
    const m = displayedSizes([v("a", 320.4, 180.2), v("b", 1000, 562.5, true, true)], false, 2);
    expect([...m]).toEqual([
      ["a", { width: 641, height: 360, pinned: false }],
      ["b", { width: 2000, height: 1125, pinned: true }],
    ]);
  });
  it("leaves out videos off screen, of no size, and everything while the tab is hidden", () => {
    expect([...displayedSizes([v("a", 320, 180, false), v("b", 0, 0)], false, 1)]).toEqual([]);
    expect(displayedSizes([v("a", 320, 180)], true, 1).size).toBe(0);
  });
  it("a track shown twice counts at its largest", () => {
    const m = displayedSizes([v("a", 200, 100), v("a", 800, 450, true, true)], false, 1);
    expect(m.get("a")).toEqual({ width: 800, height: 450, pinned: true });
  });
});

describe("resolvePin", () => {
  const tiles = [
    { id: "p1", identity: "alice" },
    { id: "p2", identity: "bob" },
  ];
  it("keeps the pinned participant", () => {
    expect(resolvePin({ id: "p2", identity: "bob" }, tiles)).toBe("p2");
    expect(resolvePin(null, tiles)).toBeNull();
  });
  it("follows the same person when they rejoin under a new id", () => {
    const rejoined = [tiles[0], { id: "p9", identity: "bob" }];
    expect(resolvePin({ id: "p2", identity: "bob" }, rejoined)).toBe("p9");
  });
  it("drops the pin when they are gone", () => {
    expect(resolvePin({ id: "p2", identity: "bob" }, [tiles[0]])).toBeNull();
    expect(resolvePin({ id: "p2" }, [tiles[0], { id: "p9", identity: "bob" }])).toBeNull();
  });
});
