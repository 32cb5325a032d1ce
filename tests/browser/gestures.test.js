// Raised hands, reactions and connection quality in the browser. Ann raises her hand and
// reacts: Bob sees both on her tile, and her hand first in his people panel. The server is
// told (its test fault) to drop 30 % of Bob's packets as they reach the node: Ann sees Bob's
// connection indicator go to "poor", and Bob's own tile says his connection is unstable.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { tile } from "./lib/meeting.js";
import { annAndBob } from "./lib/pair.js";

const CODE = "gst-hand-abc";

describe("hands, reactions and connection quality", () => {
  let meeting;
  let people;

  before(async () => {
    meeting = await annAndBob(CODE, { env: { VEET_SFU_FAULT_UPLINK_LOSS: "Bob=30" } });
    people = meeting.people;
  });

  after(async () => meeting?.close());

  test("a raised hand shows on the other's screen, first in the people panel", async () => {
    const ann = people.Ann.page;
    const bob = people.Bob.page;
    await ann.getByRole("button", { name: "Raise hand" }).click();
    await ann.getByRole("button", { name: "Lower hand", pressed: true }).waitFor();
    await tile(bob, "Ann").locator('[data-testid="tile-hand"]').waitFor({ timeout: 10_000 });
    assert.equal(await tile(bob, "Ann").getAttribute("data-hand"), "raised");
    await bob.getByText("Ann raised their hand").first().waitFor({ timeout: 10_000 });
    await bob.getByRole("button", { name: "Show everyone" }).click();
    const first = bob.locator('[data-testid="person"]').first();
    assert.equal(await first.getAttribute("data-name"), "Ann", "raised hands come first");
    await first.getByRole("img", { name: "Hand raised, number 1" }).waitFor();
    // Bob is no host: he cannot lower Ann's hand, only see it.
    assert.equal(await bob.getByRole("button", { name: "Lower Ann's hand" }).count(), 0);
    await bob.getByRole("button", { name: "Show everyone" }).click();
    // Ann lowers it herself; it goes from Bob's screen.
    await ann.getByRole("button", { name: "Lower hand" }).click();
    await tile(bob, "Ann").locator('[data-testid="tile-hand"]').waitFor({ state: "detached", timeout: 10_000 });
  });

  test("a reaction floats over the sender's tile for the other", async () => {
    const ann = people.Ann.page;
    const bob = people.Bob.page;
    await ann.getByRole("button", { name: "Send a reaction" }).click();
    await ann.getByRole("menuitem", { name: "Celebrating" }).click();
    const floating = tile(bob, "Ann").locator('[data-testid="tile-reactions"]');
    await floating.getByRole("img", { name: "Celebrating" }).waitFor({ timeout: 10_000 });
    assert.match(await floating.innerText(), /🎉/);
    // It floats away after a few seconds.
    await floating.waitFor({ state: "detached", timeout: 10_000 });
  });

  test("the indicator shows poor for a participant whose packets are dropped", async () => {
    const ann = people.Ann.page;
    const bob = people.Bob.page;
    const bobsTile = tile(ann, "Bob");
    await bobsTile.and(ann.locator('[data-quality="poor"]')).waitFor({ timeout: 30_000 });
    await bobsTile.getByRole("img", { name: "Bob's connection is poor" }).waitFor();
    // The indicator says what the node measured.
    const label = await bobsTile.getByTestId("tile-quality").getAttribute("aria-label");
    assert.match(label, /\(\d+ % packet loss/, label);
    // Ann's packets all arrive: her tile on Bob's screen stays good.
    const annOnBob = tile(bob, "Ann");
    const annQuality = await annOnBob.getAttribute("data-quality");
    const annLabel = annQuality === "good" ? "" : await annOnBob.getByTestId("tile-quality").getAttribute("aria-label");
    assert.equal(annQuality, "good", annLabel);
    // Bob is told about his own connection.
    await tile(bob, "Bob").getByText("Your connection is unstable").waitFor({ timeout: 30_000 });
  });
});
