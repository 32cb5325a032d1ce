// Runtime configuration from /config.json, so one build serves every deployment.

export interface AppConfig {
  /** Absolute ws(s):// URL of the signaling WebSocket. */
  wsUrl: string;
  /** Absolute http(s):// base of the room API (no trailing slash). */
  apiUrl: string;
  /** `"relay"` sends all media through TURN (tests, and networks that want it). */
  iceTransportPolicy: RTCIceTransportPolicy;
  /** How long a guest waits in the lobby for a host to let it in before giving up. */
  lobbyTimeoutSecs: number;
}

export const DEFAULT_LOBBY_TIMEOUT_SECS = 300;

/** The policy `raw` names, or the default `"all"`. */
export function icePolicyOf(raw: unknown): RTCIceTransportPolicy {
  return raw === "relay" ? "relay" : "all";
}

/** The lobby timeout `raw` gives, if it is a usable one (a positive number of seconds). */
export function lobbyTimeoutOf(raw: unknown): number {
  return typeof raw === "number" && Number.isFinite(raw) && raw > 0 ? raw : DEFAULT_LOBBY_TIMEOUT_SECS;
}

/** Makes `url` absolute against `base`, switching http(s) to ws(s) for socket URLs. */
export function resolveWsUrl(url: string, base: string): string {
  const u = new URL(url, base);
  if (u.protocol === "http:") u.protocol = "ws:";
  if (u.protocol === "https:") u.protocol = "wss:";
  return u.toString();
}

export function resolveApiUrl(url: string, base: string): string {
  return new URL(url, base).toString().replace(/\/+$/, "");
}

/** Same-origin defaults, for when /config.json is missing (a bare static host). */
export function defaultConfig(origin: string): AppConfig {
  return {
    wsUrl: resolveWsUrl("/ws", origin),
    apiUrl: resolveApiUrl("/api", origin),
    iceTransportPolicy: "all",
    lobbyTimeoutSecs: DEFAULT_LOBBY_TIMEOUT_SECS,
  };
}

let cached: Promise<AppConfig> | null = null;

export function loadConfig(): Promise<AppConfig> {
  cached ??= (async () => {
    const origin = window.location.origin;
    // Under `vite` (npm run dev) everything goes through the dev server's proxy.
    if (import.meta.env.DEV) return defaultConfig(origin);
    try {
      const res = await fetch("/config.json", { cache: "no-store" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const raw = (await res.json()) as Partial<AppConfig>;
      const fallback = defaultConfig(origin);
      return {
        wsUrl: raw.wsUrl ? resolveWsUrl(raw.wsUrl, origin) : fallback.wsUrl,
        apiUrl: raw.apiUrl ? resolveApiUrl(raw.apiUrl, origin) : fallback.apiUrl,
        iceTransportPolicy: icePolicyOf(raw.iceTransportPolicy),
        lobbyTimeoutSecs: lobbyTimeoutOf(raw.lobbyTimeoutSecs),
      };
    } catch (e) {
      console.warn("veet: no usable /config.json, using same-origin defaults", e);
      return defaultConfig(origin);
    }
  })();
  return cached;
}
