// The buyer's orders: what, for how much, where it stands, the time left on a hold, and the sale.
import { useState } from 'react';
import { Link } from 'react-router';
import { allOrders, allSales, call, type Order, type Sale } from '../api';
import { Loading, ProblemLine } from '../components';
import { formatCountdown, formatPrice, holdLeftMs, orderStateLabel, problemOf } from '../logic';
import { useNow, usePageTitle, usePolling } from '../polling';
import { useSession } from '../session';

export function OrdersPage({ token }: { token: string }) {
  const { expire } = useSession();
  const [orders, setOrders] = useState<Order[] | null>(null);
  const [sales, setSales] = useState<Record<string, Sale>>({});
  const [problem, setProblem] = useState<string | null>(null);
  const now = useNow(1000);
  usePageTitle('My orders');

  usePolling(
    async () => {
      const answer = await allOrders(token);
      if (answer.status === 401) return expire();
      if (answer.status !== 200) return setProblem(problemOf(answer) ?? 'Could not load your orders; retrying.');
      setProblem(null);
      setOrders(answer.body.orders);
      // The products' names and prices come with their sales: the list first, then any older sale by itself.
      const known: Record<string, Sale> = { ...sales };
      const missing = answer.body.orders.some((o) => !known[o.sale_id]);
      if (!missing) return;
      const listed = await allSales(5);
      if (listed.status === 200) for (const s of listed.body.sales) known[s.sale_id] = s;
      for (const id of new Set(answer.body.orders.map((o) => o.sale_id))) {
        if (known[id]) continue;
        const one = await call<Sale>('GET', `/sales/${encodeURIComponent(id)}`);
        if (one.status === 200) known[id] = one.body;
      }
      setSales(known);
    },
    (visible) => (visible ? 3000 : 30_000),
    [token],
  );

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">My orders</h1>
      <ProblemLine problem={problem} />
      {!orders ? (
        !problem && <Loading>Loading your orders…</Loading>
      ) : orders.length === 0 ? (
        <p>No orders yet. <Link to="/">See the sales</Link></p>
      ) : (
        <ul className="orders">
          {orders.map((o) => {
            const sale = sales[o.sale_id];
            const left = holdLeftMs(o, now);
            return (
              <li className="card order" key={o.order_id} data-order={o.order_id}>
                <h2>
                  <Link to={`/sales/${o.sale_id}`}>{sale ? sale.product.name : 'This sale'}</Link>
                </h2>
                <dl>
                  <div><dt>Price</dt><dd>{sale ? formatPrice(sale.product.price_in_cent) : '…'}</dd></div>
                  <div><dt>State</dt><dd data-order-state>{orderStateLabel(o, now)}</dd></div>
                  {left !== null && (
                    <div><dt>Time left to pay</dt><dd data-hold-left>{formatCountdown(left)}</dd></div>
                  )}
                  <div><dt>Ordered</dt><dd><time dateTime={o.created_at}>{new Date(o.created_at).toLocaleString()}</time></dd></div>
                </dl>
                {left !== null && <p><Link to={`/sales/${o.sale_id}`}>Pay or cancel on the sale's page</Link></p>}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
