// A sale's page: its figures (from useSaleFigures, the one place they come from), the countdown,
// and what the buyer may do now, in the buyer's words: buy, sign in to buy, pay or cancel a
// hold, or see what they bought. Nothing is offered that cannot be done. A sale with a waiting
// room shows the buyer's place in it first (WaitingRoom.tsx), and "Buy now" on their turn.
import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useLocation } from 'react-router';
import { allOrders, call, type Order } from '../api';
import { Loading, ProblemLine } from '../components';
import {
  formatCountdown,
  formatPrice,
  holdsShown,
  offerOf,
  problemOf,
  resultOfOrder,
  resultOfPurchase,
  saleShows,
  serverNow,
  signInPath,
  tokenClaims,
  type Result,
} from '../logic';
import { useNow, usePageTitle } from '../polling';
import { useSaleFigures } from '../sale-figures';
import { useSession } from '../session';
import { laterOrder, roomOf, roomOffer, roomStep } from '../waiting-room';
import { SHOWS_WORDS } from './SalesPage';
import { useWaitingRoom, WaitingRoomPanel } from './WaitingRoom';

/** The buyer's latest order of this product, kept up to date while it is not final. */
function useOwnOrder(productId: string | undefined, token: string | null, onUnauthenticated: () => void) {
  const [order, setOrder] = useState<Order | null>(null);
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    if (!productId || !token) {
      setOrder(null);
      setLoaded(true);
      return;
    }
    let stopped = false;
    setLoaded(false);
    void (async () => {
      const answer = await allOrders(token, productId, 5);
      if (stopped) return;
      if (answer.status === 401) onUnauthenticated();
      if (answer.status === 200) setOrder(answer.body.orders[0] ?? null);
      setLoaded(true);
    })();
    return () => {
      stopped = true;
    };
  }, [productId, token, onUnauthenticated]);

  // An order not final yet (being written, or held past its time) is asked about again.
  const status = order?.status;
  const orderId = order?.order_id;
  const heldUntil = order?.expires_at;
  useEffect(() => {
    if (!orderId || !token) return;
    const stillMoving = status === 'pending' || status === 'reserved';
    if (!stillMoving) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = async () => {
      const answer = await call<Order>('GET', `/orders/${orderId}`, { token });
      if (stopped) return;
      if (answer.status === 401) return onUnauthenticated();
      if (answer.status === 200 && (answer.body.status !== status || answer.body.expires_at !== heldUntil)) return setOrder(answer.body);
      timer = setTimeout(ask, status === 'pending' ? 1000 : 3000);
    };
    // A hold is asked about when it runs out; a pending order at once.
    const wait = status === 'reserved' && heldUntil ? Math.max(0, Date.parse(heldUntil) - Date.now()) + 500 : 1000;
    timer = setTimeout(ask, wait);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [orderId, status, heldUntil, token, onUnauthenticated]);

  return { order, setOrder, loaded };
}

function ResultBox({ result }: { result: Result | null }) {
  const kind = !result ? '' : result.word === 'success' ? 'success' : result.following ? 'wait' : 'bad';
  return (
    <div role="status" aria-live="polite" className={result ? `result ${kind}` : 'result empty'} data-result={result?.word}>
      {result?.text}
    </div>
  );
}

export function SalePage({ saleId }: { saleId: string }) {
  const { session, expire } = useSession();
  const token = session?.token ?? null;
  const location = useLocation();
  const figures = useSaleFigures(saleId);
  const { sale, offsetMs, missing } = figures;
  const { order, setOrder, loaded } = useOwnOrder(sale?.product.product_id, token, expire);
  const [result, setResult] = useState<Result | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [waitUntil, setWaitUntil] = useState(0);
  const [announcement, setAnnouncement] = useState('');
  const intent = useRef<string | null>(null);
  const now = useNow();

  const t = serverNow(offsetMs, now);
  const shows = sale ? saleShows(sale, t) : null;

  // The waiting room: always on, or on above a rate of attempts (then a 403 not_admitted, or a
  // ticket from before, puts the buyer in it).
  const room = roomOf(sale);
  const [queued, setQueued] = useState(false);
  const follow = useWaitingRoom({
    saleId,
    token,
    wanted: Boolean(room && shows),
    autoJoin: Boolean(room && (room.mode === 'always' || queued) && (shows === 'upcoming' || shows === 'active')),
    offsetMs,
    startsAtMs: sale ? Date.parse(sale.starts_at) : 0,
    endsAtMs: sale ? Date.parse(sale.ends_at) : 0,
    admissionSeconds: room?.admission_seconds ?? 60,
    proofBits: room?.proof_of_work_bits ?? 0,
    userId: session?.userId || tokenClaims(token ?? '').sub || '',
    onUnauthenticated: expire,
  });
  const refreshRoom = follow.refresh;
  const inRoom = Boolean(room && token && (follow.ticket || room.mode === 'always' || queued));
  const ownOrder = inRoom ? laterOrder(follow.ticket?.order ?? null, order) : order;
  const step = inRoom && follow.ticket && sale ? roomStep({ ...follow.ticket, order: ownOrder }, t, Date.parse(sale.ends_at)) : null;
  usePageTitle(sale ? (step === 'admitted' ? `Your turn: ${sale.product.name}` : sale.product.name) : missing ? 'Sale not found' : null);

  // The buyer's turn, said at once (the page may be in another tab: the title says it too).
  const previousStep = useRef(step);
  useEffect(() => {
    if (step === 'admitted' && previousStep.current !== 'admitted') setAnnouncement('It is your turn: you can buy now.');
    if (step === 'sold out' && previousStep.current !== 'sold out' && previousStep.current !== null) setAnnouncement('Sold out: the queue has closed.');
    previousStep.current = step;
  }, [step]);

  // The countdown's end, said once to screen readers (the countdown itself is not read out).
  const previous = useRef(shows);
  useEffect(() => {
    if (previous.current === 'upcoming' && shows === 'active') setAnnouncement('The sale is open: you can buy now.');
    if (previous.current === 'active' && shows === 'ended') setAnnouncement('The sale has ended.');
    if (previous.current === 'active' && shows === 'sold out') setAnnouncement('Sold out: every unit is gone.');
    previous.current = shows;
  }, [shows]);

  // The order's own changes (written, paid, ran out) say what happened.
  const shownStatus = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (!order || order.status === shownStatus.current) return;
    if (shownStatus.current !== undefined) setResult(resultOfOrder(order));
    shownStatus.current = order.status;
  }, [order]);

  const buy = useCallback(async () => {
    if (!sale || !token || busy) return;
    // One key per intent to buy: a double click or a retry of this intent never buys twice.
    intent.current ??= crypto.randomUUID();
    setBusy(true);
    setProblem(null);
    const answer = await call<Order>('POST', '/orders', { token, body: { product_id: sale.product.product_id }, headers: { 'Idempotency-Key': intent.current } });
    setBusy(false);
    if (answer.status === 401) return expire();
    // A refusal or a unit is this intent's last word; no answer, 429 or 5xx may be retried with the same key.
    if (answer.status !== 0 && answer.status < 500 && answer.status !== 429) intent.current = null;
    if (answer.retryAfterS) setWaitUntil(Date.now() + answer.retryAfterS * 1000);
    setResult(resultOfPurchase(answer));
    if (answer.status === 202) {
      shownStatus.current = answer.body.status;
      setOrder(answer.body);
    }
    // Not the buyer's turn (a room on above a rate of attempts, or a turn that ran out): the queue.
    if (answer.body.error === 'not_admitted') setQueued(true);
    refreshRoom();
  }, [sale, token, busy, expire, setOrder, refreshRoom]);

  const act = async (how: 'pay' | 'cancel') => {
    if (!ownOrder || !token) return;
    setBusy(true);
    setProblem(null);
    const answer =
      how === 'pay'
        ? await call<Order>('POST', `/orders/${ownOrder.order_id}/checkout`, { token, body: { payment_token: 'demo-card' } })
        : await call<Order>('DELETE', `/orders/${ownOrder.order_id}`, { token });
    setBusy(false);
    if (answer.status === 401) return expire();
    if (answer.status === 200) {
      shownStatus.current = answer.body.status;
      setOrder(answer.body);
      setResult(how === 'pay' ? resultOfOrder(answer.body) : { word: 'failed', text: 'Cancelled: the item went back on sale.', following: false });
      refreshRoom();
    } else if (answer.body.error === 'hold_expired') {
      setResult({ word: 'failed', text: 'Your hold ran out; the item went back on sale.', following: false });
    } else if (answer.body.error === 'not_checkoutable' || answer.body.error === 'not_cancellable') {
      setProblem(answer.body.message ?? 'That cannot be done right now; try again in a moment.');
    } else setProblem(problemOf(answer) ?? answer.body.message ?? 'That did not work; try again.');
  };

  if (missing) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title">Sale not found</h1>
        <p>There is no sale at this address. <Link to="/">See the sales</Link></p>
      </section>
    );
  }
  if (!sale || !shows) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title" className="visually-hidden">Sale</h1>
        <ProblemLine problem={figures.problem} />
        {!figures.problem && <Loading>Loading the sale…</Loading>}
      </section>
    );
  }

  // Until the buyer's own order is known, nothing is offered: it may be bought already.
  const offer = token && !loaded ? 'nothing' : inRoom ? roomOffer(step, shows, ownOrder, Date.now()) : offerOf(shows, Boolean(token), order, Date.now());
  const holds = holdsShown(sale.stock_held, ownOrder);
  const heldLeft = ownOrder?.status === 'reserved' && ownOrder.expires_at ? Date.parse(ownOrder.expires_at) - Date.now() : null;
  // The room's screen, but for the order's own steps, which the page shows below.
  const roomShown = inRoom && room && step !== 'in progress' && step !== 'holding' && step !== 'hold ran out' && step !== 'confirmed';
  const waitS = Math.ceil((waitUntil - now) / 1000);
  const here = `${location.pathname}${location.search}`;

  return (
    <article className="card sale-page" aria-labelledby="page-title">
      <p className="crumb"><Link to="/">← All sales</Link></p>
      <h1 id="page-title">{sale.product.name}</h1>
      <p className="big">{formatPrice(sale.product.price_in_cent)}</p>
      <p>
        <span className={`state ${shows.replace(' ', '-')}`} data-state={shows}>{SHOWS_WORDS[shows]}</span>
      </p>
      {shows === 'upcoming' && (
        <p className="countdown">
          Opens in <strong data-countdown>{formatCountdown(Date.parse(sale.starts_at) - t)}</strong>
        </p>
      )}
      {shows === 'active' && <p className="countdown">Ends in {formatCountdown(Date.parse(sale.ends_at) - t)}</p>}
      {shows === 'ended' && <p>This sale has ended.</p>}
      <p className="figures" data-figures>
        <strong data-remaining>{sale.stock_remaining}</strong> of {sale.stock_total} left
        {holds.own > 0 && <span data-own-hold>, 1 held for you</span>}
        {holds.others > 0 && <span data-other-holds>, {holds.others} in other carts</span>}
      </p>
      <ProblemLine problem={problem ?? follow.problem ?? figures.problem} />
      {roomShown && room && <WaitingRoomPanel room={room} follow={follow} step={step} serverNowMs={t} />}

      {offer === 'buy' && (
        <p>
          <button className="primary buy" onClick={buy} disabled={busy || waitS > 0} aria-describedby={waitS > 0 ? 'wait-note' : undefined}>
            {busy ? 'Buying…' : 'Buy now'}
          </button>
          {waitS > 0 && <span id="wait-note" className="hint"> Try again in {waitS} s.</span>}
        </p>
      )}
      {offer === 'opens soon' && (
        <p>
          <button className="primary buy" disabled aria-describedby="opens-note">Buy now</button>
          <span id="opens-note" className="hint"> You can buy when the sale opens.</span>
        </p>
      )}
      {offer === 'sign in to buy' && (
        <>
          <p>
            <Link className="button primary buy" to={signInPath(here)}>{room ? 'Sign in to join the queue' : 'Sign in to buy'}</Link>
          </p>
          <p className="hint">New here? <Link to={signInPath(here, 'signup')}>Create an account</Link></p>
        </>
      )}
      {offer === 'in progress' && <p className="hint">We are writing your order down; this takes a moment.</p>}

      <ResultBox result={result} />

      {offer === 'pay or cancel' && heldLeft !== null && (
        <div className="card hold" data-hold>
          <p>
            Held for you: pay within <strong>{formatCountdown(heldLeft)}</strong> or the item goes back on sale.
          </p>
          <p className="row">
            <button className="primary" onClick={() => act('pay')} disabled={busy}>Pay now</button>
            <button onClick={() => act('cancel')} disabled={busy}>Cancel</button>
          </p>
        </div>
      )}
      {offer === 'hold ran out' && <p className="hint">Your hold ran out; the item goes back on sale.</p>}
      {offer === 'bought' && (
        <div className="card bought" data-bought>
          <p><strong>You bought this.</strong> {formatPrice(sale.product.price_in_cent)}, one unit.</p>
          <p><Link to="/orders">See my orders</Link></p>
        </div>
      )}
      <div className="visually-hidden" aria-live="assertive">{announcement}</div>
    </article>
  );
}
