// The one place the sale page's figures come from (stock left, held, the window, the server's
// clock): the sale's Firestore document when the build has Firebase, else GET /sales/{sale_id}
// polled (live-sale.ts); nothing else of the page knows which.
import { useState } from 'react';
import type { Sale } from './api';
import { useLiveSale } from './live-sale';
import { problemOf } from './logic';

export interface SaleFigures {
  sale: Sale | null;
  /** How far the server's clock is ahead of this browser's (ms): countdowns use the server's. */
  offsetMs: number;
  /** No such sale (404). */
  missing: boolean;
  /** Why the last update failed, in a buyer's words; null while updates arrive. */
  problem: string | null;
  /** When the figures were last updated, by this browser's clock. */
  updatedAtMs: number | null;
}

export function useSaleFigures(saleId: string): SaleFigures {
  const [problem, setProblem] = useState<string | null>(null);
  // Live from the sale's Firestore document when the build has Firebase, else polled (live-sale.ts).
  const live = useLiveSale(saleId, (answer) =>
    setProblem(answer.status === 200 || answer.status === 404 ? null : (problemOf(answer) ?? 'Could not update the figures; retrying.')),
  );
  return { sale: live.sale, offsetMs: live.offset, missing: live.missing, problem, updatedAtMs: live.updatedAtMs };
}
