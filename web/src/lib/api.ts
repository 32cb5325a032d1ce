// The room API: create a meeting, get a guest token to join one.

import { loadConfig } from "./config";

export interface CreatedRoom {
  code: string;
  url: string;
}

export interface GuestToken {
  token: string;
  identity: string;
  room: string;
  ws_url?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function post<T>(path: string, body: unknown): Promise<T> {
  const { apiUrl } = await loadConfig();
  let res: Response;
  try {
    res = await fetch(`${apiUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "Can't reach the Veet server. Check your connection.");
  }
  const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const msg = typeof data.message === "string" ? data.message : `HTTP ${res.status}`;
    throw new ApiError(res.status, String(data.code ?? "http"), msg);
  }
  return data as T;
}

export function createRoom(): Promise<CreatedRoom> {
  return post<CreatedRoom>("/rooms", {});
}

export function requestToken(code: string, name: string): Promise<GuestToken> {
  return post<GuestToken>(`/rooms/${encodeURIComponent(code)}/token`, { name });
}
