// What one instance is asked in one turn of its event loop, sent together (docs/design.md §4):
// the takes of one sale as one Redis call (orders/take.ts), the orders accepted together as one
// task (task-queue-group.ts). No added wait: a batch leaves at the end of the turn it was
// opened in (setImmediate, never a timer), a lone item alone; and at once when it is full.

export interface BatchBounds<T> {
  /** Whether `next` may join `items` (a batch never empty); when not, `items` leave first. */
  fits(items: readonly T[], next: T): boolean;
  /** Whether `items` should leave now rather than at the end of the turn. */
  full(items: readonly T[]): boolean;
}

export class TurnBatch<T> {
  private items: T[] = [];
  private queued = false;

  constructor(
    private readonly send: (items: T[]) => void,
    private readonly bounds: BatchBounds<T>,
  ) {}

  add(item: T): void {
    if (this.items.length > 0 && !this.bounds.fits(this.items, item)) this.flush();
    this.items.push(item);
    if (this.bounds.full(this.items)) this.flush();
    else if (!this.queued) {
      this.queued = true;
      setImmediate(() => {
        this.queued = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.send(items);
  }
}
