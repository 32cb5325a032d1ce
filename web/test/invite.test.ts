import { describe, expect, it } from "vitest";
import { inviteClaims, splitInvite } from "../src/lib/invite";

/** A JWT-shaped token with `claims` as its payload (the page never checks the signature). */
function token(claims: object): string {
  const b64 = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const utf8 = (o: object) => String.fromCharCode(...new TextEncoder().encode(JSON.stringify(o)));
  return `${b64('{"alg":"HS256"}')}.${b64(utf8(claims))}.sig`;
}

describe("invite links", () => {
  it("take the token out of the address and keep the rest", () => {
    const t = token({ room: "abc-defg-hij", name: "Zoë Hôst" });
    const { invite, cleaned } = splitInvite(new URL(`https://v.example/abc-defg-hij?t=${t}&x=1#h`), "abc-defg-hij");
    expect(cleaned).toBe("/abc-defg-hij?x=1#h");
    expect(invite).toEqual({ code: "abc-defg-hij", token: t, name: "Zoë Hôst" });
  });

  it("leave addresses without a token alone", () => {
    expect(splitInvite(new URL("https://v.example/abc-defg-hij?x=1"), "abc-defg-hij")).toEqual({
      invite: null,
      cleaned: null,
    });
  });

  it("hide a token even where it cannot be used", () => {
    // Not a meeting page, or an empty token: nothing to join with, but the address is cleaned.
    expect(splitInvite(new URL("https://v.example/?t=abc"), null)).toEqual({ invite: null, cleaned: "/" });
    expect(splitInvite(new URL("https://v.example/abc-defg-hij?t="), "abc-defg-hij").invite).toBeNull();
  });

  it("read the name from any token shape without failing", () => {
    expect(inviteClaims(token({ name: "Ann" }))?.name).toBe("Ann");
    expect(inviteClaims("garbage")).toBeNull();
    expect(inviteClaims("a.!!!.c")).toBeNull();
    const { invite } = splitInvite(new URL(`https://v.example/abc-defg-hij?t=${token({ name: "  " })}`), "abc-defg-hij");
    expect(invite?.name).toBeNull();
  });
});
