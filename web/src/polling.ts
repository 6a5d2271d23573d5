// Time in the client: a clock that re-renders, and polling that follows the page's visibility.
import { useEffect, useRef, useState } from 'react';

/** Calls `tick` now and then again on a schedule that follows the page's visibility. */
export function usePolling(tick: () => Promise<void> | void, everyMs: (visible: boolean) => number, deps: unknown[]): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    let stopped = false;
    let running = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const loop = async () => {
      if (stopped || running) return;
      running = true;
      clearTimeout(timer);
      try {
        await latest.current();
      } finally {
        running = false;
      }
      if (!stopped) timer = setTimeout(loop, everyMs(document.visibilityState === 'visible'));
    };
    void loop();
    const onVisible = () => {
      if (document.visibilityState === 'visible') void loop();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, deps);
}

/** This browser's clock, re-read every `everyMs`. */
export function useNow(everyMs = 250): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

/** Sets the tab's title to "<what> · Flash sale". */
export function usePageTitle(what: string | null): void {
  useEffect(() => {
    document.title = what ? `${what} · Flash sale` : 'Flash sale';
  }, [what]);
}
