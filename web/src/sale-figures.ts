// The one place the sale page's figures come from (stock left, held, the window, the server's
// clock). Today it polls GET /sales/{sale_id}; a live subscription (the sale's Firestore
// document) replaces the polling here, and nothing else of the page changes.
import { useState } from 'react';
import { call, type Sale } from './api';
import { clockOffset, pollEveryMs, problemOf } from './logic';
import { usePolling } from './polling';

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
  const [figures, setFigures] = useState<SaleFigures>({ sale: null, offsetMs: 0, missing: false, problem: null, updatedAtMs: null });
  usePolling(
    async () => {
      const answer = await call<Sale>('GET', `/sales/${encodeURIComponent(saleId)}`);
      const now = Date.now();
      if (answer.status === 200) {
        setFigures({ sale: answer.body, offsetMs: clockOffset(answer.body.server_time, now), missing: false, problem: null, updatedAtMs: now });
      } else if (answer.status === 404) {
        setFigures((f) => ({ ...f, sale: null, missing: true, problem: null }));
      } else {
        setFigures((f) => ({ ...f, problem: problemOf(answer) ?? 'Could not update the figures; retrying.' }));
      }
    },
    pollEveryMs,
    [saleId],
  );
  return figures;
}
