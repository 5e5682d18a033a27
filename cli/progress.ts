/**
 * Progress display for long operations. On a terminal the current step is redrawn in place with a
 * spinner and elapsed time; otherwise (CI, pipes) each step prints one line when it starts and one
 * when it ends, so logs stay readable.
 */
import type { CliContext } from './context';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private current: { title: string; started: number; detail: string } | undefined;
  private frame = 0;

  constructor(private readonly ctx: Pick<CliContext, 'err' | 'interactive'>) {}

  /** Runs `fn` as a named step; `update` changes the detail shown next to the title. */
  async step<T>(title: string, fn: (update: (detail: string) => void) => Promise<T>): Promise<T> {
    this.start(title);
    try {
      const result = await fn((detail) => this.detail(detail));
      this.end(true);
      return result;
    } catch (err) {
      this.end(false, (err as Error).message);
      throw err;
    }
  }

  /** A line of information between steps. */
  note(text: string): void {
    this.clearLine();
    this.ctx.err(`  ${text}\n`);
    this.draw();
  }

  private start(title: string): void {
    this.current = { title, started: Date.now(), detail: '' };
    if (this.ctx.interactive) {
      this.draw();
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
    } else {
      this.ctx.err(`… ${title}\n`);
    }
  }

  private detail(detail: string): void {
    if (!this.current) return;
    this.current.detail = detail;
    if (!this.ctx.interactive) this.ctx.err(`    ${detail}\n`);
  }

  private draw(): void {
    if (!this.ctx.interactive || !this.current) return;
    const seconds = ((Date.now() - this.current.started) / 1000).toFixed(1);
    const frame = FRAMES[this.frame++ % FRAMES.length];
    const detail = this.current.detail ? ` · ${this.current.detail}` : '';
    this.ctx.err(`\r\x1b[2K${frame} ${this.current.title}${detail} (${seconds}s)`);
  }

  private clearLine(): void {
    if (this.ctx.interactive && this.current) this.ctx.err('\r\x1b[2K');
  }

  private end(ok: boolean, error?: string): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (!this.current) return;
    const seconds = ((Date.now() - this.current.started) / 1000).toFixed(1);
    this.clearLine();
    // Line-by-line output has shown the detail already; a redrawn line shows it once, here.
    const detail = this.current.detail && this.ctx.interactive ? `: ${this.current.detail}` : '';
    this.ctx.err(
      ok
        ? `✔ ${this.current.title}${detail} (${seconds}s)\n`
        : `✘ ${this.current.title} (${seconds}s)\n    ${error}\n`,
    );
    this.current = undefined;
  }

  /** Stops redrawing (on interruption). */
  stop(): void {
    clearInterval(this.timer);
    this.clearLine();
    this.current = undefined;
  }
}
