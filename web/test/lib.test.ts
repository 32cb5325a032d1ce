import { describe, expect, it } from "vitest";
import { defaultConfig, icePolicyOf, lobbyTimeoutOf, resolveApiUrl, resolveWsUrl } from "../src/lib/config";
import { codeFromPath, parseRoomInput } from "../src/lib/roomCode";
import { initials } from "../src/lib/storage";

describe("room codes", () => {
  it("accepts codes and meeting links, tidying what people type", () => {
    expect(parseRoomInput("abc-defg-hij")).toBe("abc-defg-hij");
    expect(parseRoomInput("  ABC-DEFG-HIJ ")).toBe("abc-defg-hij");
    expect(parseRoomInput("abcdefghij")).toBe("abc-defg-hij");
    expect(parseRoomInput("http://127.0.0.1:8080/abc-defg-hij")).toBe("abc-defg-hij");
    expect(parseRoomInput("https://meet.example.com/abc-defg-hij?pli=1#x")).toBe("abc-defg-hij");
    expect(parseRoomInput("/abc-defg-hij")).toBe("abc-defg-hij");
  });

  it("rejects what cannot be a code", () => {
    expect(parseRoomInput("")).toBeNull();
    expect(parseRoomInput("not a code!")).toBeNull();
    expect(parseRoomInput("https://example.com/")).toBeNull();
    expect(parseRoomInput("x".repeat(65))).toBeNull();
  });

  it("finds the code in the page path", () => {
    expect(codeFromPath("/abc-defg-hij")).toBe("abc-defg-hij");
    expect(codeFromPath("/abc-defg-hij/")).toBe("abc-defg-hij");
    expect(codeFromPath("/")).toBeNull();
    expect(codeFromPath("/a/b")).toBeNull();
    expect(codeFromPath("/index.html")).toBeNull();
  });
});

describe("runtime config", () => {
  it("takes absolute URLs as they are and resolves relative ones against the page", () => {
    expect(resolveWsUrl("wss://abc.execute-api.eu-west-1.amazonaws.com/prod", "https://veet.example")).toBe(
      "wss://abc.execute-api.eu-west-1.amazonaws.com/prod",
    );
    expect(resolveWsUrl("/ws", "https://veet.example")).toBe("wss://veet.example/ws");
    expect(resolveWsUrl("/ws", "http://127.0.0.1:8080")).toBe("ws://127.0.0.1:8080/ws");
    expect(resolveWsUrl("https://x.example/ws", "http://a")).toBe("wss://x.example/ws");
    expect(resolveApiUrl("/api/", "http://127.0.0.1:8080")).toBe("http://127.0.0.1:8080/api");
    expect(defaultConfig("http://h:1")).toEqual({
      wsUrl: "ws://h:1/ws",
      apiUrl: "http://h:1/api",
      iceTransportPolicy: "all",
      lobbyTimeoutSecs: 300,
    });
  });
});

describe("initials", () => {
  it("uses first and last names", () => {
    expect(initials("Ada Lovelace")).toBe("AL");
    expect(initials("  bob ")).toBe("B");
    expect(initials("Jean Paul Sartre")).toBe("JS");
    expect(initials("")).toBe("?");
  });
});

describe("iceTransportPolicy", () => {
  it("is relay only when config.json says so exactly", () => {
    expect(icePolicyOf("relay")).toBe("relay");
    for (const other of ["all", "RELAY", undefined, 1, null]) expect(icePolicyOf(other)).toBe("all");
  });
});

describe("lobbyTimeoutSecs", () => {
  it("takes a positive number of seconds, else five minutes", () => {
    expect(lobbyTimeoutOf(60)).toBe(60);
    expect(lobbyTimeoutOf(0.5)).toBe(0.5);
    for (const other of [0, -5, Infinity, NaN, "60", undefined, null]) expect(lobbyTimeoutOf(other)).toBe(300);
  });
});
