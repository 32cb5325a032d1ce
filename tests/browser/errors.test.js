// The screens people see when something is wrong, against a real `veet dev`.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchParticipant } from "./lib/browser.js";
import { startVeet } from "./lib/server.js";

describe("error screens", () => {
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

  test("the home page explains input that is not a code, and accepts a pasted link", async () => {
    const page = person.page;
    await page.goto("/");
    await page.getByLabel("Enter a code or link").fill("this is not a code!");
    await page.getByRole("button", { name: "Join", exact: true }).click();
    await page.getByRole("alert").getByText("doesn't look like a meeting code").waitFor();

    await page.getByLabel("Enter a code or link").fill(`${server.url}/abc-defg-hij`);
    await page.getByRole("button", { name: "Join", exact: true }).click();
    await page.waitForURL(`${server.url}/abc-defg-hij`);
    await page.getByRole("heading", { name: "Ready to join?" }).waitFor();
  });

  test("a token the server refuses ends on a clear screen, after one fresh try", async () => {
    const page = person.page;
    const res = await fetch(`${server.url}/api/rooms`, { method: "POST", body: "{}" });
    const { code } = await res.json();
    // The room API hands out tokens the signaling service will refuse (401 on the upgrade).
    let tokenRequests = 0;
    await page.route("**/api/rooms/*/token", async (route) => {
      tokenRequests += 1;
      const real = await route.fetch();
      const body = await real.json();
      await route.fulfill({ response: real, json: { ...body, token: `${body.token}x` } });
    });
    await page.goto(`/${code}`);
    await page.getByLabel("Your name").fill("Eve");
    await page.getByRole("button", { name: "Join now" }).click();
    await page.locator('[data-testid="end-screen"][data-kind="invalid_token"]').waitFor({ timeout: 20_000 });
    await page.getByRole("heading", { name: "You can't join this meeting" }).waitFor();
    assert.equal(tokenRequests, 2, "one token for the join, one fresh retry");
    await page.unroute("**/api/rooms/*/token");

    // "Try again" goes back to the pre-join screen, and with a good token it works.
    await page.getByRole("button", { name: "Try again" }).click();
    await page.getByRole("button", { name: "Join now" }).click();
    await page.locator(".meeting[data-status=joined]").waitFor({ timeout: 20_000 });
    await page.getByRole("button", { name: "Leave call" }).click();
    await page.getByRole("heading", { name: "You left the meeting" }).waitFor();
  });
});
