// Dead-socket detection: a browser may not notice a connection that died (a NAT dropped it,
// the network changed) for minutes. We ping every few seconds and give up on the socket when
// nothing at all comes back in time; any frame proves it alive, so an error frame (the
// server's state store being down, say) is not mistaken for a dead socket.

export class Keepalive {
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private deadline: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly ping: () => void,
    private readonly onDead: () => void,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  start(): void {
    this.stop();
    this.pingTimer = setInterval(() => {
      this.ping();
      this.deadline ??= setTimeout(() => {
        this.deadline = null;
        this.onDead();
      }, this.timeoutMs);
    }, this.intervalMs);
  }

  /** Something arrived on the socket. */
  alive(): void {
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.deadline = null;
  }

  stop(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.alive();
  }
}
