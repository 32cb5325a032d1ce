// Connection quality: the node's grade of each participant (`connection_quality`), and our
// own from the publisher connection's `getStats()` (what the node's receiver reports say of
// our uplink: loss and round trip). Either one being poor warns us on our own tile.

import type { ParticipantQuality, Quality, ServerFrame } from "../protocol.gen";

/** The thresholds the node grades with (veet_core::protocol::Quality::grade). */
export function gradeQuality(lossPct: number, rttMs: number | undefined): Quality {
  const rtt = rttMs ?? 0;
  if (lossPct >= 10 || rtt >= 600) return "poor";
  if (lossPct >= 2 || rtt >= 300) return "fair";
  return "good";
}

const RANK: Record<Quality, number> = { good: 0, fair: 1, poor: 2 };

/** The worse of two grades. */
export const worse = (a: Quality, b: Quality): Quality => (RANK[a] >= RANK[b] ? a : b);

/** What a line of `connection_quality` measured, for the indicator's tooltip. */
export function describeQuality(q: ParticipantQuality): string {
  const parts: string[] = [];
  const loss = Math.max(q.uplink_loss_pct, q.downlink_loss_pct);
  if (loss > 0) parts.push(`${loss} % packet loss`);
  if (q.rtt_ms !== undefined) parts.push(`${q.rtt_ms} ms round trip`);
  if (q.downlink_kbps !== undefined) parts.push(`${q.downlink_kbps} kbit/s down`);
  return parts.join(", ");
}

/** Each participant's measurements from a `connection_quality` frame, described. */
export function qualityDetails(frame: Extract<ServerFrame, { type: "connection_quality" }>): Record<string, string> {
  return Object.fromEntries(frame.qualities.map((q) => [q.participant_id, describeQuality(q)]));
}

/** Each participant's grade from a `connection_quality` frame; absent means good. */
export function qualityMap(frame: Extract<ServerFrame, { type: "connection_quality" }>): Record<string, Quality> {
  return Object.fromEntries(frame.qualities.map((q: ParticipantQuality) => [q.participant_id, q.quality]));
}

/** What a `remote-inbound-rtp` stats entry says (the far end's receiver report on our sending). */
export interface RemoteInbound {
  /** Packets lost so far, and sent so far (from the matching `outbound-rtp`). */
  packetsLost: number;
  packetsSent: number;
  /** Seconds. */
  roundTripTime?: number;
}

/**
 * Grades our uplink between two samples of the same stats (loss over the interval, latest
 * round trip). Too few packets in the interval say nothing: `null`.
 */
export function gradeUplink(before: RemoteInbound | null, now: RemoteInbound): Quality | null {
  const sent = now.packetsSent - (before?.packetsSent ?? 0);
  const lost = Math.max(0, now.packetsLost - (before?.packetsLost ?? 0));
  if (sent < 20) return null;
  const rtt = now.roundTripTime === undefined ? undefined : now.roundTripTime * 1000;
  // `packetsSent` counts the lost ones too.
  return gradeQuality((Math.min(lost, sent) * 100) / sent, rtt);
}

/** The sum over a report's sending streams, or null when it has no receiver reports yet. */
export function remoteInboundOf(report: Iterable<Record<string, unknown>>): RemoteInbound | null {
  let packetsLost = 0;
  let packetsSent = 0;
  let rtt: number | undefined;
  let seen = false;
  const sentBySsrc = new Map<unknown, number>();
  const entries = [...report];
  for (const e of entries) if (e.type === "outbound-rtp") sentBySsrc.set(e.ssrc, Number(e.packetsSent ?? 0));
  for (const e of entries) {
    if (e.type !== "remote-inbound-rtp") continue;
    seen = true;
    packetsLost += Number(e.packetsLost ?? 0);
    packetsSent += sentBySsrc.get(e.ssrc) ?? 0;
    if (typeof e.roundTripTime === "number") rtt = Math.max(rtt ?? 0, e.roundTripTime);
  }
  return seen ? { packetsLost, packetsSent, roundTripTime: rtt } : null;
}

/** Samples our uplink every few seconds and keeps the latest grade. */
export class UplinkMonitor {
  private last: RemoteInbound | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  grade: Quality | null = null;

  constructor(
    private readonly stats: () => Promise<Iterable<Record<string, unknown>> | null>,
    private readonly changed: (grade: Quality | null) => void,
    private readonly everyMs = 2_000,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sample(), this.everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.last = null;
    this.set(null);
  }

  async sample(): Promise<void> {
    const report = await this.stats().catch(() => null);
    const now = report ? remoteInboundOf(report) : null;
    if (!now) return;
    const grade = gradeUplink(this.last, now);
    this.last = now;
    if (grade) this.set(grade);
  }

  private set(grade: Quality | null): void {
    if (grade === this.grade) return;
    this.grade = grade;
    this.changed(grade);
  }
}
