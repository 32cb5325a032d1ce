// The new controls' accessible names, rendered to markup (no DOM needed).

import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { LayoutMenu } from "../src/ui/LayoutMenu";
import { Tile } from "../src/ui/Tile";

const tile = (pinned: boolean, notice?: string) =>
  renderToStaticMarkup(
    createElement(Tile, {
      name: "Bob",
      isSelf: false,
      video: null,
      audioMuted: false,
      participantId: "PA_bob",
      speaking: false,
      pinned,
      onTogglePin: () => {},
      notice,
    }),
  );

describe("Tile", () => {
  it("has a Pin toggle button, named Unpin and pressed when pinned", () => {
    expect(tile(false)).toContain('aria-label="Pin" aria-pressed="false"');
    expect(tile(true)).toContain('aria-label="Unpin" aria-pressed="true"');
  });
  it("shows an unsupported-codec notice as a status, without hiding the tile", () => {
    const html = tile(false, "Can't show Bob's video: this browser can't decode VP9");
    expect(html).toContain('role="status"');
    expect(html).toContain("Can&#x27;t show Bob&#x27;s video: this browser can&#x27;t decode VP9");
    expect(html).toContain('data-testid="camera-off"');
  });
});

describe("LayoutMenu", () => {
  it("is a labelled menu button", () => {
    const html = renderToStaticMarkup(createElement(LayoutMenu, { choice: "auto", onChoose: () => {} }));
    expect(html).toContain('aria-label="Change layout"');
    expect(html).toContain('aria-haspopup="menu"');
    expect(html).toContain('aria-expanded="false"');
  });
});
