import { describe, expect, it } from "vitest";
import type { ParticipantInfo, TrackInfo } from "../src/protocol.gen";
import { gridLayout, remoteView } from "../src/ui/model";
import { FakeTrack, participant } from "./fakes";

const withTracks = (id: string, name: string, tracks: TrackInfo[]): ParticipantInfo => ({
  ...participant(id, name),
  tracks,
});

describe("remoteView", () => {
  const cam = new FakeTrack("TR_cam", "video");
  const scr = new FakeTrack("TR_scr", "video");
  const mic = new FakeTrack("TR_mic", "audio");
  const media = {
    TR_cam: { track: cam, participantId: "PA_b" },
    TR_scr: { track: scr, participantId: "PA_b" },
    TR_mic: { track: mic, participantId: "PA_b" },
  };

  it("tells camera from screen share by the published source", () => {
    const bob = withTracks("PA_b", "Bob", [
      { id: "TR_cam", kind: "video", source: "camera", muted: false },
      { id: "TR_scr", kind: "video", source: "screen_share", muted: false },
      { id: "TR_mic", kind: "audio", source: "microphone", muted: false },
    ]);
    const v = remoteView([bob], media);
    expect(v.tiles).toEqual([
      { id: "PA_b", identity: "guest-PA_b", name: "Bob", isSelf: false, video: cam, audioMuted: false },
    ]);
    expect(v.shares).toEqual([{ participantId: "PA_b", name: "Bob", isSelf: false, track: scr }]);
    expect(v.audio).toEqual([mic]);
  });

  it("shows initials for a muted camera and a muted icon for a muted or missing mic", () => {
    const bob = withTracks("PA_b", "Bob", [{ id: "TR_cam", kind: "video", source: "camera", muted: true }]);
    const v = remoteView([bob], { TR_cam: media.TR_cam });
    expect(v.tiles[0].video).toBeNull();
    expect(v.tiles[0].audioMuted).toBe(true);
  });

  it("marks hosts (room_admin), for the people list's Host label", () => {
    const hana = { ...withTracks("PA_h", "Hana", []), grants: { ...participant("x").grants, room_admin: true } };
    const v = remoteView([hana, withTracks("PA_b", "Bob", [])], {});
    expect(v.tiles.map((t) => t.host)).toEqual([true, undefined]);
  });

  it("falls back to the stream id when track ids are not (yet) known", () => {
    const bob = withTracks("PA_b", "Bob", []);
    const v = remoteView([bob], { TR_cam: media.TR_cam });
    expect(v.tiles[0].video).toBe(cam);
  });
});

describe("gridLayout", () => {
  it("picks the column count that makes 16:9 tiles largest", () => {
    expect(gridLayout(1, 1600, 900).cols).toBe(1);
    expect(gridLayout(2, 1600, 900).cols).toBe(2);
    expect(gridLayout(4, 1600, 900).cols).toBe(2);
    expect(gridLayout(2, 400, 900).cols).toBe(1); // a phone held upright stacks them
    expect(gridLayout(9, 1600, 900).cols).toBe(3);
    expect(gridLayout(3, 0, 0)).toEqual({ cols: 1, tileWidth: 0 });
  });
});
