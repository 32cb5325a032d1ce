// How long we wait to get in: first for the server to answer our `join` (it may lose one;
// then we start over), then, when it puts us in the lobby, for a host to let us in (then we
// give up). Waiting in the lobby is an answer: the join timeout no longer applies.

/** Browsers fire longer timeouts at once (the delay is a 32-bit signed integer). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface JoinWaitOptions {
  joinTimeoutMs: number;
  lobbyTimeoutMs: number;
  /** No answer to `join`: it was lost. */
  lost(): void;
  /** No host let us in in time. */
  notAdmitted(): void;
}

export class JoinWait {
  private joinTimer: ReturnType<typeof setTimeout> | null = null;
  private lobbyTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly opts: JoinWaitOptions) {}

  /** `join` sent: an answer is due. */
  sent(): void {
    this.dropped();
    this.joinTimer = setTimeout(() => {
      this.joinTimer = null;
      this.opts.lost();
    }, this.opts.joinTimeoutMs);
  }

  /**
   * The server put us in the lobby. The deadline runs from the first time: knocking again
   * after a dropped socket does not start it over.
   */
  waiting(): void {
    this.dropped();
    this.lobbyTimer ??= setTimeout(
      () => {
        this.lobbyTimer = null;
        this.opts.notAdmitted();
      },
      Math.min(this.opts.lobbyTimeoutMs, MAX_TIMEOUT_MS),
    );
  }

  /** The socket is gone: its join can no longer be answered (a lobby wait goes on). */
  dropped(): void {
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    this.joinTimer = null;
  }

  /** In, or over: nothing more to wait for. */
  done(): void {
    this.dropped();
    if (this.lobbyTimer !== null) clearTimeout(this.lobbyTimer);
    this.lobbyTimer = null;
  }
}
