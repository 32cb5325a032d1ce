// Host controls in the browser, reached the way a host is: through an invite link carrying a
// room-API token (`/{code}?t=<token>`), which joins in one click and leaves the address bar.
// The host mutes a guest (the guest's own mic goes off and they are told), locks the meeting
// (a newcomer gets the locked screen), and removes the guest (the removed screen).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { launchParticipant } from "./lib/browser.js";
import { joinAs, waitForVideo } from "./lib/meeting.js";
import { VEET_BIN, startVeet } from "./lib/server.js";

const CODE = "hst-brws-abc";

describe("host controls", () => {
  let server;
  const people = {};

  before(async () => {
    server = await startVeet();
    for (const name of ["Hana", "Gus", "Nia"]) people[name] = await launchParticipant(server.url);
  });

  after(async () => {
    for (const p of Object.values(people)) await p.close();
    await server?.stop();
  });

  test("an invite link with a host token joins in one click and hides the token", async () => {
    // The dev server and `veet token` share the development secret.
    const token = execFileSync(VEET_BIN, ["token", "--room", CODE, "--identity", "hana", "--name", "Hana Host", "--admin"], {
      env: { ...process.env, VEET_TOKEN_SECRET: "" },
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .trim();
    const page = people.Hana.page;
    await page.goto(`/${CODE}?t=${token}`);
    assert.equal(new URL(page.url()).search, "", "the token left the address bar");
    assert.equal(await page.getByLabel("Your name").inputValue(), "Hana Host");
    await page.locator('[data-testid="preview"] video').waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "Join now" }).click();
    await page.locator(".meeting[data-status=joined]").waitFor({ timeout: 20_000 });
    await page.getByRole("button", { name: "Host controls" }).waitFor();
  });

  test("a host mutes a guest: the guest's mic goes off and they are told", async () => {
    const gus = people.Gus.page;
    await joinAs(gus, `/${CODE}`, "Gus");
    const hana = people.Hana.page;
    await waitForVideo(hana, "Gus");
    // Guests get no host controls.
    assert.equal(await gus.getByRole("button", { name: "Host controls" }).count(), 0);
    await hana.getByRole("button", { name: "Show everyone" }).click();
    await hana.getByRole("button", { name: "Mute Gus" }).click();
    await gus.getByRole("button", { name: "Turn on microphone" }).waitFor({ timeout: 10_000 });
    await gus.locator(".toasts").getByText("Hana Host muted you").waitFor({ timeout: 10_000 });
    await hana.getByRole("button", { name: "Mute Gus" }).and(hana.locator("[disabled]")).waitFor();
  });

  test("a locked meeting turns a newcomer away", async () => {
    const hana = people.Hana.page;
    await hana.getByRole("button", { name: "Host controls" }).click();
    await hana.getByRole("button", { name: "Lock meeting" }).click();
    await hana.locator('[data-testid="meeting-locked"]').waitFor({ timeout: 10_000 });
    const nia = people.Nia.page;
    await nia.goto(`/${CODE}`);
    await nia.getByLabel("Your name").fill("Nia");
    await nia.locator('[data-testid="preview"] video').waitFor({ timeout: 15_000 });
    await nia.getByRole("button", { name: "Join now" }).click();
    await nia.locator('[data-testid="end-screen"][data-kind="meeting_locked"]').waitFor({ timeout: 20_000 });
  });

  test("a removed guest gets the removed screen and cannot come back", async () => {
    const hana = people.Hana.page;
    const gus = people.Gus.page;
    await hana.getByRole("button", { name: "Remove Gus from the meeting" }).click();
    await hana.getByRole("alertdialog", { name: "Remove Gus?" }).getByRole("button", { name: "Remove" }).click();
    await gus.locator('[data-testid="end-screen"][data-kind="removed"]').waitFor({ timeout: 20_000 });
    await hana.locator('[data-testid="participant-tile"][data-name="Gus"]').waitFor({ state: "detached", timeout: 20_000 });
    // Opening the link again: the guest token endpoint refuses this address.
    await gus.goto(`/${CODE}`);
    await gus.getByLabel("Your name").fill("Gus again");
    await gus.locator('[data-testid="preview"] video').waitFor({ timeout: 15_000 });
    await gus.getByRole("button", { name: "Join now" }).click();
    await gus.locator('[data-testid="end-screen"][data-kind="removed"]').waitFor({ timeout: 20_000 });
  });
});
