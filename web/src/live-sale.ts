// A sale's figures, live: the Firestore document `sales/{sale_id}` that the functions keep in
// step (functions/src/lib/live-view.ts), followed with the Firebase web SDK's onSnapshot when
// the build is configured (VITE_FIREBASE_API_KEY and VITE_FIREBASE_PROJECT_ID), else, or when
// the subscription fails or has no document, GET /sales/{id} polled as before. The countdown
// keeps the server's clock from the polled answer's server_time.
import { useEffect, useRef, useState } from 'react';
import { call, type Answer, type Sale } from './api';
import { clockOffset, pollEveryMs } from './logic';

/** The document the functions write: the API's Sale but for server_time, plus the figures' time. */
export interface LiveSaleDoc extends Omit<Sale, 'server_time'> {
  stock_sold: number;
  /** When the figures were read, by the server's clock (ISO 8601). */
  figures_at: string;
}

/**
 * The seam over Firestore's onSnapshot on `sales/{saleId}`: `next` with the document (null
 * while there is none), `fail` when the subscription ends in an error. Returns unsubscribe.
 */
export type SubscribeSale = (saleId: string, next: (doc: LiveSaleDoc | null) => void, fail: (err: unknown) => void) => () => void;

export interface LiveSaleState {
  sale: Sale | null;
  /** GET /sales/{id} answered 404. */
  missing: boolean;
  /** How far the server's clock is ahead of this browser's (ms), from the last polled answer. */
  offset: number;
  /** The figures come from the subscription (false: from polling). */
  live: boolean;
  /** When the figures shown arrived, by this browser's clock. */
  updatedAtMs: number | null;
}

export interface FollowOptions {
  /** null: no Firestore configured, poll. */
  subscribe: SubscribeSale | null;
  fetchSale: () => Promise<Answer<Sale>>;
  onChange: (state: LiveSaleState) => void;
  /** How long between polls, by whether the page is seen. */
  everyMs?: (visible: boolean) => number;
  visible?: () => boolean;
  /** Poll meanwhile when the subscription has said nothing this long (an SDK offline retries quietly). */
  firstSnapshotWithinMs?: number;
}

export function saleFromDoc(doc: LiveSaleDoc): Sale {
  return {
    sale_id: doc.sale_id,
    product: doc.product,
    starts_at: doc.starts_at,
    ends_at: doc.ends_at,
    state: doc.state,
    stock_total: doc.stock_total,
    stock_remaining: doc.stock_remaining,
    stock_held: doc.stock_held,
    hold_seconds: doc.hold_seconds,
    waiting_room: doc.waiting_room,
    server_time: doc.figures_at,
  };
}

const pageVisible = () => typeof document === 'undefined' || document.visibilityState === 'visible';

/**
 * Follows one sale until the returned function is called: one GET at once (the server's
 * clock, a 404), then the subscription's documents, or polling while there is no
 * subscription, it failed, or it has no document yet. Of two figures, the later ones win.
 */
export function followSale(saleId: string, options: FollowOptions): () => void {
  const everyMs = options.everyMs ?? pollEveryMs;
  const visible = options.visible ?? pageVisible;
  let state: LiveSaleState = { sale: null, missing: false, offset: 0, live: false, updatedAtMs: null };
  let figuresAt = -Infinity;
  let stopped = false;
  let polling = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let unsubscribe: (() => void) | undefined;
  let watchdog: ReturnType<typeof setTimeout> | undefined;

  const update = (change: Partial<LiveSaleState>) => {
    state = { ...state, ...change };
    options.onChange(state);
  };
  const take = (sale: Sale, live: boolean) => {
    const at = Date.parse(sale.server_time);
    if (at < figuresAt) return; // older than what is shown (a slow poll, a late snapshot)
    figuresAt = at;
    update({ sale, live, missing: false, updatedAtMs: Date.now() });
  };
  const pollOnce = async () => {
    const answer = await options.fetchSale();
    if (stopped) return;
    if (answer.status === 200) {
      update({ offset: clockOffset(answer.body.server_time, Date.now()) });
      take(answer.body, false);
    } else if (answer.status === 404) update({ missing: true, sale: null });
  };
  const loop = async () => {
    if (stopped || !polling) return;
    await pollOnce();
    if (!stopped && polling) timer = setTimeout(() => void loop(), everyMs(visible()));
  };
  const startPolling = () => {
    if (polling || stopped) return;
    polling = true;
    timer = setTimeout(() => void loop(), everyMs(visible()));
  };
  const stopPolling = () => {
    polling = false;
    clearTimeout(timer);
  };

  if (options.subscribe) {
    unsubscribe = options.subscribe(
      saleId,
      (doc) => {
        if (stopped) return;
        clearTimeout(watchdog);
        if (!doc) return startPolling(); // not published (yet): the API has the figures
        stopPolling();
        take(saleFromDoc(doc), true);
      },
      () => {
        if (stopped) return;
        clearTimeout(watchdog);
        unsubscribe?.();
        update({ live: false });
        startPolling();
      },
    );
    watchdog = setTimeout(startPolling, options.firstSnapshotWithinMs ?? 5_000);
    void pollOnce();
  } else {
    polling = true;
    void loop();
  }
  const onVisible = () => {
    if (!polling || !visible()) return;
    clearTimeout(timer);
    void loop();
  };
  if (typeof document !== 'undefined') document.addEventListener('visibilitychange', onVisible);
  return () => {
    stopped = true;
    clearTimeout(watchdog);
    stopPolling();
    unsubscribe?.();
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', onVisible);
  };
}

type FirebaseEnv = Partial<Record<'VITE_FIREBASE_API_KEY' | 'VITE_FIREBASE_PROJECT_ID' | 'VITE_FIREBASE_APP_ID' | 'VITE_FIREBASE_AUTH_DOMAIN' | 'VITE_FIREBASE_DATABASE_ID', string>>;

/**
 * onSnapshot of the Firebase web SDK on `sales/{saleId}`, when the build has a Firebase
 * project; null otherwise. The SDK is loaded on first use, in a chunk of its own.
 */
export function firebaseSubscribe(env: FirebaseEnv = import.meta.env as FirebaseEnv): SubscribeSale | null {
  const apiKey = env.VITE_FIREBASE_API_KEY;
  const projectId = env.VITE_FIREBASE_PROJECT_ID;
  if (!apiKey || !projectId) return null;
  return (saleId, next, fail) => {
    let cancelled = false;
    let stop: (() => void) | undefined;
    Promise.all([import('firebase/app'), import('firebase/firestore')])
      .then(([app, firestore]) => {
        if (cancelled) return;
        const firebase = app.getApps()[0] ?? app.initializeApp({ apiKey, projectId, appId: env.VITE_FIREBASE_APP_ID, authDomain: env.VITE_FIREBASE_AUTH_DOMAIN });
        const db = firestore.getFirestore(firebase, env.VITE_FIREBASE_DATABASE_ID || '(default)');
        stop = firestore.onSnapshot(
          firestore.doc(db, 'sales', saleId),
          (snap) => next(snap.exists() ? (snap.data() as LiveSaleDoc) : null),
          fail,
        );
      })
      .catch(fail);
    return () => {
      cancelled = true;
      stop?.();
    };
  };
}

const configured = firebaseSubscribe();

/**
 * The sale page's figures: live from Firestore when configured, else polled. `onAnswer` sees
 * every GET /sales/{id} answer (the page's words for trouble).
 */
export function useLiveSale(saleId: string, onAnswer?: (answer: Answer<Sale>) => void, subscribe: SubscribeSale | null = configured): LiveSaleState {
  const [state, setState] = useState<LiveSaleState>({ sale: null, missing: false, offset: 0, live: false, updatedAtMs: null });
  const latest = useRef(onAnswer);
  latest.current = onAnswer;
  useEffect(() => {
    const fetchSale = async () => {
      const answer = await call<Sale>('GET', `/sales/${encodeURIComponent(saleId)}`);
      latest.current?.(answer);
      return answer;
    };
    return followSale(saleId, { subscribe, fetchSale, onChange: setState });
  }, [saleId, subscribe]);
  return state;
}
