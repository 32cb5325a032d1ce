// A phone (360 × 740): every control-bar button is on screen, the chat panel overlays the
// stage rather than squeezing it, and a screenshot goes to docs/screenshot-phone.png.

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { after, before, describe } from "node:test";
import { launchParticipant } from "./lib/browser.js";
import { joinAs, tile, waitForVideo } from "./lib/meeting.js";
import { ROOT, startVeet } from "./lib/server.js";
import { steps } from "./lib/steps.js";

const W = 360;
const H = 740;

describe("the meeting on a phone", () => {
  let server;
  const people = {};
  const url = "/pho-nesc-ren";

  before(async () => {
    server = await startVeet();
    for (const name of ["Ann", "Bob"]) people[name] = await launchParticipant(server.url);
    await people.Ann.page.setViewportSize({ width: W, height: H });
  });

  after(async () => {
    for (const p of Object.values(people)) await p.close();
    await server?.stop();
  });

  const { step } = steps("mobile", () => server, () => people);

  step("two people meet; the phone sees the other's video", async () => {
    await joinAs(people.Ann.page, url, "Ann");
    await joinAs(people.Bob.page, url, "Bob");
    await waitForVideo(people.Ann.page, "Bob");
  });

  step("every control-bar button is visible and inside the screen", async () => {
    const ann = people.Ann.page;
    const buttons = ann.locator(".control-bar button");
    const n = await buttons.count();
    assert.ok(n >= 8, `only ${n} control-bar buttons`);
    for (let i = 0; i < n; i++) {
      const b = buttons.nth(i);
      const name = await b.getAttribute("aria-label");
      assert.ok(await b.isVisible(), `${name} is hidden`);
      const box = await b.boundingBox();
      assert.ok(
        box && box.x >= 0 && box.y >= 0 && box.x + box.width <= W && box.y + box.height <= H,
        `${name} is outside the ${W}×${H} screen: ${JSON.stringify(box)}`,
      );
    }
    // Tiles reflow: both fit across the stage, none wider than the screen.
    for (const who of ["Ann", "Bob"]) {
      const box = await tile(ann, who).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= W, `${who}'s tile: ${JSON.stringify(box)}`);
    }
  });

  step("the chat panel overlays the stage", async () => {
    const ann = people.Ann.page;
    const stage = ann.locator(".stage");
    const before = await stage.boundingBox();
    await ann.getByRole("button", { name: "Chat with everyone" }).click();
    const panel = ann.locator(".side-panel");
    await panel.waitFor();
    const after = await stage.boundingBox();
    const box = await panel.boundingBox();
    // The stage keeps its size (nothing beside it), and the panel covers it, on screen.
    assert.deepEqual(after, before, "the stage changed size when the chat opened");
    assert.equal(await panel.evaluate((el) => getComputedStyle(el).position), "absolute");
    assert.ok(box.x >= 0 && box.x + box.width <= W && box.y >= 0 && box.y + box.height <= H, JSON.stringify(box));
    assert.ok(box.width > W * 0.8, `panel only ${box.width}px wide`);
    await ann.getByLabel("Send a message to everyone").fill("Hi from my phone");
    await ann.keyboard.press("Enter");
    await ann.getByTestId("chat-messages").getByText("Hi from my phone").waitFor({ timeout: 10_000 });
    await ann.getByRole("button", { name: "Close in-call messages" }).click();
    await panel.waitFor({ state: "detached" });
    await ann.waitForTimeout(500);
    await ann.screenshot({ path: resolve(ROOT, "docs/screenshot-phone.png") });
  });
});
