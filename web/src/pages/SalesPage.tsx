// The sales, for everyone: no sign-in needed to look.
import { useState } from 'react';
import { Link } from 'react-router';
import { allSales, type Sale } from '../api';
import { Loading, ProblemLine } from '../components';
import { clockOffset, formatCountdown, formatPrice, problemOf, saleShows, serverNow } from '../logic';
import { useNow, usePageTitle, usePolling } from '../polling';
import { roomOf } from '../waiting-room';

export function SalesPage() {
  const [sales, setSales] = useState<Sale[] | null>(null);
  const [offset, setOffset] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);
  const now = useNow(1000);
  usePageTitle('Sales');
  usePolling(
    async () => {
      const answer = await allSales();
      if (answer.status === 200) {
        setSales(answer.body.sales);
        if (answer.body.server_time) setOffset(clockOffset(answer.body.server_time, Date.now()));
        setProblem(null);
      } else setProblem(problemOf(answer) ?? 'Could not load the sales; retrying.');
    },
    (visible) => (visible ? 5000 : 30_000),
    [],
  );
  const t = serverNow(offset, now);
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Sales</h1>
      <ProblemLine problem={problem} />
      {!sales ? (
        !problem && <Loading>Loading the sales…</Loading>
      ) : sales.length === 0 ? (
        <p>No sales right now. Come back soon.</p>
      ) : (
        <ul className="sales">
          {sales.map((sale) => {
            const shows = saleShows(sale, t);
            return (
              <li className="card sale" key={sale.sale_id}>
                <h2>
                  <Link to={`/sales/${sale.sale_id}`}>{sale.product.name}</Link>
                </h2>
                <p className="price">{formatPrice(sale.product.price_in_cent)}</p>
                <p className="state-line">
                  <span className={`state ${shows.replace(' ', '-')}`}>{SHOWS_WORDS[shows]}</span>
                  {shows === 'upcoming' && <span>opens in {formatCountdown(Date.parse(sale.starts_at) - t)}</span>}
                  {shows === 'active' && <span>ends in {formatCountdown(Date.parse(sale.ends_at) - t)}</span>}
                </p>
                {shows === 'active' && <p className="hint">{sale.stock_remaining} of {sale.stock_total} left</p>}
                {roomOf(sale)?.mode === 'always' && (shows === 'active' || shows === 'upcoming') && (
                  <p className="hint" data-has-room>With a waiting room: buyers go in turn{shows === 'upcoming' ? '; places are drawn at the opening' : ''}.</p>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

export const SHOWS_WORDS = { upcoming: 'Coming soon', active: 'On sale now', 'sold out': 'Sold out', ended: 'Sale ended' } as const;
