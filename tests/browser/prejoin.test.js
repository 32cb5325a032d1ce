// The pre-join screen: preview, mic meter, device pickers, toggles, remembered name.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchParticipant } from "./lib/browser.js";
import { startVeet } from "./lib/server.js";

describe("pre-join", () => {
  let server;
  let person;

  before(async () => {
    server = await startVeet();
    person = await launchParticipant(server.url);
  });

  after(async () => {
    await person?.close();
    await server?.stop();
  });

  test("shows a mirrored camera preview, a live mic meter and the devices", async () => {
    const page = person.page;
    await page.goto("/abc-defg-hij");
    const preview = page.locator('[data-testid="preview"] video');
    await page.waitForFunction(() => document.querySelector('[data-testid="preview"] video')?.videoWidth > 0);
    assert.equal(await preview.evaluate((v) => v.classList.contains("mirrored")), true);

    // Chromium's fake microphone beeps: the meter must move.
    await page.getByRole("heading", { name: "Ready to join?" }).click(); // a gesture, as a person gives
    await page.waitForFunction(
      () => Number(document.querySelector('[role="meter"]')?.getAttribute("aria-valuenow")) > 0,
      null,
      { timeout: 10_000 },
    );

    for (const label of ["Microphone", "Camera"]) {
      const options = await page.getByRole("combobox", { name: label }).locator("option").count();
      assert.ok(options >= 1, `${label} picker lists devices`);
    }
  });

  test("camera and mic toggles, and the name is remembered", async () => {
    const page = person.page;
    await page.getByRole("button", { name: "Turn off camera" }).click();
    await page.getByText("Camera is off").waitFor();
    assert.equal(await page.locator('[data-testid="preview"] video').count(), 0);
    await page.getByRole("button", { name: "Turn on camera" }).click();
    await page.locator('[data-testid="preview"] video').waitFor();

    await page.getByRole("button", { name: "Turn off microphone" }).click();
    await page.getByRole("button", { name: "Turn on microphone" }).waitFor();
    assert.equal(await page.getByRole("meter").getAttribute("aria-valuenow"), "0");

    await page.getByLabel("Your name").fill("Grace Hopper");
    await page.getByRole("button", { name: "Join now" }).click();
    await page.locator(".meeting[data-status=joined]").waitFor({ timeout: 20_000 });
    // Joined muted, as chosen before joining.
    await page.getByRole("button", { name: "Turn on microphone" }).waitFor();
    await page.getByRole("button", { name: "Leave call" }).click();
    await page.goto("/xyz-abcd-efg");
    assert.equal(await page.getByLabel("Your name").inputValue(), "Grace Hopper");
  });
});
