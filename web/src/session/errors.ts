// What the session does with each server error code.

import type { CloseReason, ErrorCode } from "../protocol.gen";
import type { FatalError, FatalKind } from "./state";

const TOKEN_ERRORS: ErrorCode[] = [
  "token_missing",
  "token_malformed",
  "token_invalid_signature",
  "token_wrong_algorithm",
  "token_expired",
  "token_not_yet_valid",
  "token_wrong_room",
];

/** Errors that end the session, each with its own end screen. */
export function fatalKindOf(code: ErrorCode): FatalKind | null {
  if (TOKEN_ERRORS.includes(code)) return "invalid_token";
  switch (code) {
    case "room_full":
      return "room_full";
    case "room_not_found":
      return "room_not_found";
    case "replaced":
      return "replaced";
    case "no_node_available":
      return "no_node";
    case "meeting_locked":
      return "meeting_locked";
    case "removed":
      return "removed";
    case "knock_denied":
      return "knock_denied";
    default:
      return null;
  }
}

/**
 * The server no longer knows our connection or participant (its state store restarted, say):
 * nothing we send on this socket will work again, so re-join on a new one.
 */
export function isForgotten(code: ErrorCode): boolean {
  return code === "unknown_connection" || code === "not_joined";
}

/** A passing server-side failure: worth a retry before we are in, harmless once we are. */
export function isTransient(code: ErrorCode): boolean {
  return code === "unavailable" || code === "internal";
}

/**
 * A token request (`refreshToken`) refused for good, as the token endpoint says with its
 * error code: a guest a host removed gets `removed`.
 */
export function refusalOf(e: unknown): FatalError | null {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return null;
  const kind = fatalKindOf(code as ErrorCode);
  return kind && { kind, message: e instanceof Error ? e.message : code };
}

/** What the end screen says when the room closed for `reason`. */
export function closedMessage(reason: CloseReason): string {
  switch (reason) {
    case "deleted":
      return "The meeting was ended by its host.";
    case "ended":
      return "The host ended the meeting for everyone.";
    default:
      return "The meeting ended: no media server is available right now.";
  }
}
