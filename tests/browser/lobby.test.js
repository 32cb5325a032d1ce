// The lobby (knock to join) in the browser: a host turns it on; a guest waits on the
// "Asking to join" screen, seeing nothing of the meeting, until the host admits them; a
// second is turned away; a third gives up after the configured wait. Each gets its screen.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { launchParticipant } from "./lib/browser.js";
import { waitForVideo } from "./lib/meeting.js";
import { VEET_BIN, startVeet } from "./lib/server.js";

const CODE = "lby-brws-abc";

/** Pre-join → "Join now", without waiting to be in the call. */
async function askToJoin(page, name) {
  await page.goto(`/${CODE}`);
  await page.getByLabel("Your name").fill(name);
  await page.locator('[data-testid="preview"] video').waitFor({ timeout: 15_000 });
  await page.getByRole("button", { name: "Join now" }).click();
}

describe("lobby", () => {
  let server;
  const people = {};

  before(async () => {
    server = await startVeet({ env: { VEET_LOBBY_TIMEOUT_SECS: "6" } });
    for (const name of ["Hana", "Gus", "Ida", "Zed"]) people[name] = await launchParticipant(server.url);
    const token = execFileSync(VEET_BIN, ["token", "--room", CODE, "--identity", "hana", "--name", "Hana", "--admin"], {
      env: { ...process.env, VEET_TOKEN_SECRET: "" },
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .trim();
    const hana = people.Hana.page;
    await hana.goto(`/${CODE}?t=${token}`);
    await hana.locator('[data-testid="preview"] video').waitFor({ timeout: 15_000 });
    await hana.getByRole("button", { name: "Join now" }).click();
    await hana.locator(".meeting[data-status=joined]").waitFor({ timeout: 20_000 });
    await hana.getByRole("button", { name: "Host controls" }).click();
    const toggle = hana.getByRole("button", { name: "Guests knock to join" });
    await toggle.click();
    await hana.waitForFunction(
      () => [...document.querySelectorAll("button")].some((b) => b.textContent?.includes("Guests knock to join") && b.getAttribute("aria-pressed") === "true"),
      null,
      { timeout: 10_000 },
    );
  });

  after(async () => {
    for (const p of Object.values(people)) await p.close();
    await server?.stop();
  });

  test("a knocking guest waits, sees nothing of the meeting, and gets in when admitted", async () => {
    const gus = people.Gus.page;
    await askToJoin(gus, "Gus");
    await gus.locator('[data-testid="lobby"]').getByRole("heading", { name: "Asking to join…" }).waitFor({ timeout: 20_000 });
    const hana = people.Hana.page;
    await hana.getByRole("region", { name: "Gus wants to join" }).waitFor({ timeout: 10_000 });
    assert.equal(await gus.locator('[data-testid="participant-tile"]').count(), 0, "no tiles while waiting");
    const frames = await gus.evaluate(() => (window.__veetFrames ?? []).map((f) => f.type));
    assert.ok(!frames.includes("joined") && !frames.includes("participant_joined"), `nothing of the meeting: ${frames}`);
    await hana.getByRole("button", { name: "Admit Gus" }).click();
    await gus.locator(".meeting[data-status=joined]").waitFor({ timeout: 20_000 });
    await waitForVideo(gus, "Hana");
    await waitForVideo(hana, "Gus");
    await hana.getByRole("region", { name: "Gus wants to join" }).waitFor({ state: "detached" });
  });

  test("a guest the host turns away gets the declined screen", async () => {
    const ida = people.Ida.page;
    await askToJoin(ida, "Ida");
    await ida.locator('[data-testid="lobby"]').waitFor({ timeout: 20_000 });
    await people.Hana.page.getByRole("button", { name: "Deny Ida" }).click();
    await ida.locator('[data-testid="end-screen"][data-kind="knock_denied"]').waitFor({ timeout: 20_000 });
  });

  test("a guest nobody answers gives up after the configured wait", async () => {
    const zed = people.Zed.page;
    await askToJoin(zed, "Zed");
    await zed.locator('[data-testid="lobby"]').waitFor({ timeout: 20_000 });
    const hana = people.Hana.page;
    await hana.getByRole("region", { name: "Zed wants to join" }).waitFor({ timeout: 10_000 });
    await zed.locator('[data-testid="end-screen"][data-kind="lobby_timeout"]').waitFor({ timeout: 30_000 });
    // Its socket closed with it: the host's prompt goes.
    await hana.getByRole("region", { name: "Zed wants to join" }).waitFor({ state: "detached", timeout: 15_000 });
  });
});
