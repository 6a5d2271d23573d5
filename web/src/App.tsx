// The React client: sign up and log in, the sales, a sale's page with "Buy now", the buyer's
// orders, and an admin's page. It talks only to the gateway (api.ts).
import { useCallback, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { call, type Order, type Sale } from './api';
import { MetricsPanel } from './Metrics';
import {
  canBuy,
  clockOffset,
  formatCountdown,
  formatPrice,
  pollEveryMs,
  resultOfOrder,
  resultOfPurchase,
  saleShows,
  serverNow,
  tokenClaims,
  type Result,
} from './logic';

type View = { name: 'sales' } | { name: 'sale'; saleId: string } | { name: 'orders' } | { name: 'admin' } | { name: 'auth' };

const TOKEN_KEY = 'flash-sale-token';

export function App() {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(TOKEN_KEY));
  const [view, setView] = useState<View>(() => (sessionStorage.getItem(TOKEN_KEY) ? { name: 'sales' } : { name: 'auth' }));
  const claims = token ? tokenClaims(token) : {};
  const signIn = (t: string) => {
    sessionStorage.setItem(TOKEN_KEY, t);
    setToken(t);
    setView({ name: 'sales' });
  };
  const signOut = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(null);
    setView({ name: 'auth' });
  };
  return (
    <>
      <header>
        <h1>Flash sale</h1>
        <nav className="row" aria-label="Main">
          <button onClick={() => setView({ name: 'sales' })}>Sales</button>
          {token && <button onClick={() => setView({ name: 'orders' })}>My orders</button>}
          {claims.role === 'admin' && <button onClick={() => setView({ name: 'admin' })}>Admin</button>}
          {token ? <button onClick={signOut}>Log out</button> : view.name !== 'auth' && <button onClick={() => setView({ name: 'auth' })}>Log in</button>}
        </nav>
      </header>
      <main>
        {view.name === 'auth' && <AuthPage onSignedIn={signIn} />}
        {view.name === 'sales' && <SalesPage onOpen={(saleId) => setView({ name: 'sale', saleId })} />}
        {view.name === 'sale' && <SalePage saleId={view.saleId} token={token} onNeedLogin={() => setView({ name: 'auth' })} />}
        {view.name === 'orders' && token && <OrdersPage token={token} />}
        {view.name === 'admin' && token && <AdminPage token={token} />}
      </main>
    </>
  );
}

function Field(props: { label: string; id: string; type?: string; value: string; onChange: (v: string) => void; autoComplete?: string }) {
  return (
    <>
      <label htmlFor={props.id}>{props.label}</label>
      <input id={props.id} type={props.type ?? 'text'} value={props.value} autoComplete={props.autoComplete} onChange={(e) => props.onChange(e.target.value)} required />
    </>
  );
}

function AuthPage({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const [mode, setMode] = useState<'login' | 'signup'>('login');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    if (mode === 'signup') {
      const created = await call('POST', '/users', { body: { email, password } });
      if (created.status !== 201) {
        setBusy(false);
        setError(created.body.error === 'email_taken' ? 'An account with this email already exists: log in instead.' : created.body.error === 'invalid_request' ? 'Check the email, and use a password of 8 to 128 characters.' : 'Could not sign up; try again.');
        return;
      }
    }
    const login = await call<{ token: string }>('POST', '/users/authenticate', { body: { email, password } });
    setBusy(false);
    if (login.status === 200) onSignedIn(login.body.token);
    else setError(login.status === 401 ? 'Wrong email or password.' : login.status === 429 ? 'Too many tries: wait a minute.' : 'Could not log in; try again.');
  };
  return (
    <form className="card" onSubmit={submit} aria-labelledby="auth-title">
      <h2 id="auth-title">{mode === 'login' ? 'Log in' : 'Sign up'}</h2>
      <Field label="Email" id="email" type="email" value={email} onChange={setEmail} autoComplete="email" />
      <Field label="Password" id="password" type="password" value={password} onChange={setPassword} autoComplete={mode === 'login' ? 'current-password' : 'new-password'} />
      {error && <p className="error" role="alert">{error}</p>}
      <p className="row">
        <button className="primary" type="submit" disabled={busy}>{mode === 'login' ? 'Log in' : 'Sign up'}</button>
        <button type="button" onClick={() => setMode(mode === 'login' ? 'signup' : 'login')}>{mode === 'login' ? 'New here? Sign up' : 'Have an account? Log in'}</button>
      </p>
    </form>
  );
}

/** Calls `tick` now and then on a schedule that follows the page's visibility. */
function usePolling(tick: () => Promise<void> | void, everyMs: (visible: boolean) => number, deps: unknown[]) {
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const loop = async () => {
      if (stopped) return;
      await tick();
      if (!stopped) timer = setTimeout(loop, everyMs(document.visibilityState === 'visible'));
    };
    void loop();
    const onVisible = () => {
      if (document.visibilityState === 'visible') {
        clearTimeout(timer);
        void loop();
      }
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, deps);
}

function useNow(everyMs = 250): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

function SalesPage({ onOpen }: { onOpen: (saleId: string) => void }) {
  const [sales, setSales] = useState<Sale[] | null>(null);
  const [offset, setOffset] = useState(0);
  const now = useNow(1000);
  usePolling(async () => {
    const answer = await call<{ sales: Sale[]; server_time: string }>('GET', '/sales');
    if (answer.status === 200) {
      setSales(answer.body.sales);
      setOffset(clockOffset(answer.body.server_time, Date.now()));
    }
  }, () => 5000, []);
  if (!sales) return <p>Loading the sales…</p>;
  if (sales.length === 0) return <p>No sales yet.</p>;
  return (
    <section aria-label="Sales">
      <h2>Sales</h2>
      {sales.map((sale) => {
        const shows = saleShows(sale, serverNow(offset, now));
        return (
          <article className="card" key={sale.sale_id}>
            <h3>{sale.product.name}</h3>
            <p>
              {formatPrice(sale.product.price_in_cent)} · <span className={`state ${shows.replace(' ', '-')}`}>{shows}</span> · {sale.stock_remaining} of {sale.stock_total} left
            </p>
            <button onClick={() => onOpen(sale.sale_id)} aria-label={`Open the sale of ${sale.product.name}`}>View</button>
          </article>
        );
      })}
    </section>
  );
}

function ResultBox({ result }: { result: Result | null }) {
  if (!result) return <div aria-live="polite" />;
  const kind = result.word === 'success' ? 'success' : result.following ? 'wait' : 'bad';
  return (
    <div aria-live="polite" className={`result ${kind}`} data-result={result.word}>
      {result.text}
    </div>
  );
}

function SalePage({ saleId, token, onNeedLogin }: { saleId: string; token: string | null; onNeedLogin: () => void }) {
  const [sale, setSale] = useState<Sale | null>(null);
  const [missing, setMissing] = useState(false);
  const [offset, setOffset] = useState(0);
  const [result, setResult] = useState<Result | null>(null);
  const [order, setOrder] = useState<Order | null>(null);
  const [busy, setBusy] = useState(false);
  const intent = useRef<string | null>(null);
  const now = useNow();

  usePolling(async () => {
    const answer = await call<Sale>('GET', `/sales/${saleId}`);
    if (answer.status === 200) {
      setSale(answer.body);
      setOffset(clockOffset(answer.body.server_time, Date.now()));
    } else if (answer.status === 404) setMissing(true);
  }, pollEveryMs, [saleId]);

  const follow = useCallback(
    async (orderId: string) => {
      for (let i = 0; i < 600; i++) {
        const answer = await call<Order>('GET', `/orders/${orderId}`, { token });
        if (answer.status === 200) {
          setOrder(answer.body);
          const r = resultOfOrder(answer.body);
          setResult(r);
          if (!r.following || answer.body.status === 'reserved') return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    },
    [token],
  );

  const buy = async () => {
    if (!token) return onNeedLogin();
    if (!sale || busy) return;
    // One key per intent to buy: a double click or a retry of this intent never buys twice.
    intent.current ??= crypto.randomUUID();
    setBusy(true);
    const answer = await call<Order>('POST', '/orders', { token, body: { product_id: sale.product.product_id }, headers: { 'Idempotency-Key': intent.current } });
    const r = resultOfPurchase(answer);
    setResult(r);
    if (answer.status !== 0 && answer.status < 500 && answer.status !== 429) intent.current = null;
    if (answer.status === 202) {
      setOrder(answer.body);
      await follow(answer.body.order_id);
    }
    setBusy(false);
  };

  const act = async (how: 'pay' | 'cancel') => {
    if (!order || !token) return;
    setBusy(true);
    const answer =
      how === 'pay'
        ? await call<Order>('POST', `/orders/${order.order_id}/checkout`, { token, body: { payment_token: 'demo-card' } })
        : await call<Order>('DELETE', `/orders/${order.order_id}`, { token });
    setBusy(false);
    if (answer.status === 200) {
      setOrder(answer.body);
      setResult(resultOfOrder(answer.body));
    } else setResult({ word: 'failed', text: answer.body.error === 'hold_expired' ? 'Your hold ran out; the item went back on sale.' : answer.body.message ?? 'That did not work.', following: false });
  };

  if (missing) return <p>This sale does not exist.</p>;
  if (!sale) return <p>Loading the sale…</p>;
  const t = serverNow(offset, now);
  const shows = saleShows(sale, t);
  const held = order?.status === 'reserved' && order.expires_at ? Date.parse(order.expires_at) - t : null;
  return (
    <section className="card" aria-labelledby="sale-title">
      <h2 id="sale-title">{sale.product.name}</h2>
      <p className="big">{formatPrice(sale.product.price_in_cent)}</p>
      <p>
        <span className={`state ${shows.replace(' ', '-')}`} data-state={shows}>{shows}</span>
      </p>
      {shows === 'upcoming' && <p>Opens in <strong data-countdown>{formatCountdown(Date.parse(sale.starts_at) - t)}</strong></p>}
      {shows === 'active' && <p>Ends in {formatCountdown(Date.parse(sale.ends_at) - t)}</p>}
      <p>
        <strong data-remaining>{sale.stock_remaining}</strong> of {sale.stock_total} left
        {sale.stock_held ? `, ${sale.stock_held} in other people's carts` : ''}
      </p>
      <button className="primary" onClick={buy} disabled={!canBuy(shows) || busy || order?.status === 'reserved'}>Buy now</button>
      <ResultBox result={result} />
      {held !== null && held > 0 && (
        <div className="card">
          <p>Pay within <strong>{formatCountdown(held)}</strong> or the item goes back on sale.</p>
          <p className="row">
            <button className="primary" onClick={() => act('pay')} disabled={busy}>Pay now</button>
            <button onClick={() => act('cancel')} disabled={busy}>Cancel</button>
          </p>
        </div>
      )}
    </section>
  );
}

function OrdersPage({ token }: { token: string }) {
  const [orders, setOrders] = useState<Order[] | null>(null);
  usePolling(async () => {
    const answer = await call<{ orders: Order[] }>('GET', '/orders', { token });
    if (answer.status === 200) setOrders(answer.body.orders);
  }, () => 3000, [token]);
  if (!orders) return <p>Loading your orders…</p>;
  if (orders.length === 0) return <p>No orders yet.</p>;
  return (
    <section aria-label="My orders">
      <h2>My orders</h2>
      <table>
        <thead><tr><th>When</th><th>Order</th><th>State</th></tr></thead>
        <tbody>
          {orders.map((o) => (
            <tr key={o.order_id}>
              <td>{new Date(o.created_at).toLocaleString()}</td>
              <td>{o.order_id.slice(0, 8)}</td>
              <td>{resultOfOrder(o).text}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function AdminPage({ token }: { token: string }) {
  const [sales, setSales] = useState<Sale[]>([]);
  const [message, setMessage] = useState<ReactNode>(null);
  const [name, setName] = useState('');
  const [price, setPrice] = useState('19.99');
  const [stock, setStock] = useState('10');
  const [startsIn, setStartsIn] = useState('1');
  const [minutes, setMinutes] = useState('60');
  const [hold, setHold] = useState('0');
  const [updateId, setUpdateId] = useState('');
  const [newStock, setNewStock] = useState('');

  usePolling(async () => {
    const answer = await call<{ sales: Sale[] }>('GET', '/sales');
    if (answer.status === 200) setSales(answer.body.sales);
  }, () => 1000, []);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    const product = await call<{ product_id: string }>('POST', '/products', { token, body: { name, price_in_cent: Math.round(Number(price) * 100) } });
    if (product.status !== 201) return setMessage(<span className="error" role="alert">Product not created: {product.body.message}</span>);
    const startsAt = Date.now() + Number(startsIn) * 60_000;
    const sale = await call<Sale>('POST', '/sales', {
      token,
      body: { product_id: product.body.product_id, starts_at: new Date(startsAt).toISOString(), ends_at: new Date(startsAt + Number(minutes) * 60_000).toISOString(), stock: Number(stock), hold_seconds: Number(hold) },
    });
    if (sale.status !== 201) return setMessage(<span className="error" role="alert">Sale not created: {sale.body.message}</span>);
    setMessage(<span role="status">Sale of {name} created.</span>);
  };

  const update = async (e: FormEvent) => {
    e.preventDefault();
    const answer = await call<Sale>('POST', '/sales/update', { token, body: { sale_id: updateId, stock: Number(newStock) } });
    setMessage(answer.status === 200 ? <span role="status">Stock changed to {answer.body.stock_total}.</span> : <span className="error" role="alert">Not changed: {answer.body.message}</span>);
  };

  return (
    <section aria-label="Admin">
      <h2>Admin</h2>
      <form className="card" onSubmit={create} aria-label="New sale">
        <h3>New product and sale</h3>
        <Field label="Product name" id="name" value={name} onChange={setName} />
        <div className="row">
          <div><Field label="Price (€)" id="price" type="number" value={price} onChange={setPrice} /></div>
          <div><Field label="Stock" id="stock" type="number" value={stock} onChange={setStock} /></div>
        </div>
        <div className="row">
          <div><Field label="Starts in (minutes)" id="starts-in" type="number" value={startsIn} onChange={setStartsIn} /></div>
          <div><Field label="Lasts (minutes)" id="minutes" type="number" value={minutes} onChange={setMinutes} /></div>
          <div><Field label="Hold (seconds, 0 = none)" id="hold" type="number" value={hold} onChange={setHold} /></div>
        </div>
        <p><button className="primary" type="submit">Create sale</button></p>
      </form>
      <form className="card" onSubmit={update} aria-label="Change stock">
        <h3>Change a sale's stock</h3>
        <label htmlFor="update-sale">Sale</label>
        <select id="update-sale" value={updateId} onChange={(e) => setUpdateId(e.target.value)} required>
          <option value="">Choose…</option>
          {sales.map((s) => <option key={s.sale_id} value={s.sale_id}>{s.product.name}</option>)}
        </select>
        <Field label="New stock" id="new-stock" type="number" value={newStock} onChange={setNewStock} />
        <p><button type="submit">Change stock</button></p>
      </form>
      {message && <p>{message}</p>}
      <MetricsPanel token={token} sales={sales} />
      <table aria-label="Sales and their stock">
        <thead><tr><th>Product</th><th>State</th><th>Total</th><th>Left</th><th>Held</th><th>Sold</th></tr></thead>
        <tbody>
          {sales.map((s) => {
            const heldUnits = s.stock_held ?? 0;
            return (
              <tr key={s.sale_id} data-sale={s.product.name}>
                <td>{s.product.name}</td>
                <td>{s.state}</td>
                <td>{s.stock_total}</td>
                <td data-col="left">{s.stock_remaining}</td>
                <td data-col="held">{heldUnits}</td>
                <td data-col="sold">{s.stock_total - s.stock_remaining - heldUnits}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
