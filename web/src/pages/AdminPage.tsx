// The admin's page: a new product with its sale (with a waiting room or not), a sale's stock or
// admission rate changed, and every sale's figures, the waiting room's among them.
import { useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Link } from 'react-router';
import { allSales, call, type Sale } from '../api';
import { Field, ProblemLine, SaleSelect } from '../components';
import { problemOf } from '../logic';
import { MetricsPanel } from '../Metrics';
import { usePageTitle, usePolling } from '../polling';
import { useSession } from '../session';
import { measuredAdmissionRate, roomOf, roomWithRate } from '../waiting-room';

export function AdminPage({ token }: { token: string }) {
  const { expire } = useSession();
  const [sales, setSales] = useState<Sale[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [message, setMessage] = useState<ReactNode>(null);
  const [name, setName] = useState('');
  const [price, setPrice] = useState('19.99');
  const [stock, setStock] = useState('10');
  const [startsIn, setStartsIn] = useState('1');
  const [minutes, setMinutes] = useState('60');
  const [hold, setHold] = useState('0');
  const [updateId, setUpdateId] = useState('');
  const [newStock, setNewStock] = useState('');
  const [roomMode, setRoomMode] = useState<'off' | 'always'>('off');
  const [roomRate, setRoomRate] = useState('10');
  const [rateId, setRateId] = useState('');
  const [newRate, setNewRate] = useState('');
  // Each sale's last reading of `admitted`, for the measured admission rate.
  const readings = useRef(new Map<string, { admitted: number; atMs: number }>());
  const [measured, setMeasured] = useState<Record<string, number | null>>({});
  usePageTitle('Admin');

  usePolling(
    async () => {
      const answer = await allSales();
      if (answer.status === 200) {
        setSales(answer.body.sales);
        setProblem(null);
        const atMs = Date.now();
        const rates: Record<string, number | null> = {};
        for (const s of answer.body.sales) {
          const admitted = roomOf(s)?.admitted;
          if (admitted === undefined) continue;
          const reading = { admitted, atMs };
          rates[s.sale_id] = measuredAdmissionRate(readings.current.get(s.sale_id), reading);
          readings.current.set(s.sale_id, reading);
        }
        setMeasured(rates);
      } else setProblem(problemOf(answer) ?? 'Could not load the sales; retrying.');
    },
    (visible) => (visible ? 1000 : 10_000),
    [],
  );

  const refused = (what: string, answer: { status: number; body: { message?: string } }) => {
    if (answer.status === 401) expire();
    setMessage(<span className="error">{what}: {problemOf(answer) ?? answer.body.message ?? 'refused'}</span>);
  };

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setMessage(null);
    const product = await call<{ product_id: string }>('POST', '/products', { token, body: { name, price_in_cent: Math.round(Number(price) * 100) } });
    if (product.status !== 201) return refused('Product not created', product);
    const startsAt = Date.now() + Number(startsIn) * 60_000;
    const sale = await call<Sale>('POST', '/sales', {
      token,
      body: { product_id: product.body.product_id, starts_at: new Date(startsAt).toISOString(), ends_at: new Date(startsAt + Number(minutes) * 60_000).toISOString(), stock: Number(stock), hold_seconds: Number(hold),
        ...(roomMode === 'off' ? {} : { waiting_room: { mode: roomMode, admit_per_second: Number(roomRate), admission_seconds: 120 } }) },
    });
    if (sale.status !== 201) return refused('Sale not created', sale);
    setMessage(<>Sale of {name} created. <Link to={`/sales/${sale.body.sale_id}`}>Open its page</Link></>);
  };

  const update = async (e: FormEvent) => {
    e.preventDefault();
    setMessage(null);
    const answer = await call<Sale>('POST', '/sales/update', { token, body: { sale_id: updateId, stock: Number(newStock) } });
    if (answer.status === 200) setMessage(<>Stock changed to {answer.body.stock_total}.</>);
    else refused('Not changed', answer);
  };

  const roomSales = sales.filter((s) => roomOf(s));
  const changeRate = async (e: FormEvent) => {
    e.preventDefault();
    setMessage(null);
    const room = roomOf(roomSales.find((s) => s.sale_id === rateId));
    if (!room) return;
    const answer = await call<Sale>('POST', '/sales/update', { token, body: { sale_id: rateId, waiting_room: roomWithRate(room, Number(newRate)) } });
    if (answer.status === 200) setMessage(<>Admission rate changed to {answer.body.waiting_room?.admit_per_second ?? Number(newRate)} per second.</>);
    else refused('Not changed', answer);
  };

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Admin</h1>
      <ProblemLine problem={problem} />
      <div className="admin-forms">
        <form className="card" onSubmit={create} aria-labelledby="new-sale">
          <h2 id="new-sale">New product and sale</h2>
          <Field label="Product name" id="name" value={name} onChange={setName} />
          <div className="row">
            <Field label="Price (€)" id="price" type="number" step="0.01" min={0} inputMode="decimal" value={price} onChange={setPrice} />
            <Field label="Stock" id="stock" type="number" min={0} inputMode="numeric" value={stock} onChange={setStock} />
          </div>
          <div className="row">
            <Field label="Starts in (minutes)" id="starts-in" type="number" inputMode="numeric" value={startsIn} onChange={setStartsIn} />
            <Field label="Lasts (minutes)" id="minutes" type="number" min={1} inputMode="numeric" value={minutes} onChange={setMinutes} />
            <Field label="Hold (seconds, 0 = none)" id="hold" type="number" min={0} inputMode="numeric" value={hold} onChange={setHold} />
          </div>
          <div className="row">
            <div className="field">
              <label htmlFor="room-mode">Waiting room</label>
              <select id="room-mode" value={roomMode} onChange={(e) => setRoomMode(e.target.value as 'off' | 'always')}>
                <option value="off">Off</option>
                <option value="always">On: buyers queue</option>
              </select>
            </div>
            {roomMode !== 'off' && <Field label="Admit per second" id="room-rate" type="number" min={1} inputMode="numeric" value={roomRate} onChange={setRoomRate} />}
          </div>
          <p><button className="primary" type="submit">Create sale</button></p>
        </form>
        <form className="card" onSubmit={update} aria-labelledby="change-stock">
          <h2 id="change-stock">Change a sale's stock</h2>
          <SaleSelect label="Sale" id="update-sale" sales={sales} value={updateId} onChange={setUpdateId} />
          <Field label="New stock" id="new-stock" type="number" min={0} inputMode="numeric" value={newStock} onChange={setNewStock} />
          <p><button type="submit">Change stock</button></p>
        </form>
        {roomSales.length > 0 && (
          <form className="card" onSubmit={changeRate} aria-labelledby="change-rate">
            <h2 id="change-rate">Change a waiting room's admission rate</h2>
            <SaleSelect label="Sale with a waiting room" id="rate-sale" sales={roomSales} value={rateId} onChange={setRateId} />
            <Field label="New admission rate (per second)" id="new-rate" type="number" min={1} inputMode="numeric" value={newRate} onChange={setNewRate} />
            <p><button type="submit">Change rate</button></p>
          </form>
        )}
      </div>
      <p role="status" className="message">{message}</p>
      <h2 id="figures">Sales and their stock</h2>
      <div className="table-scroll" role="region" aria-labelledby="figures" tabIndex={0}>
        <table>
          <thead><tr><th scope="col">Product</th><th scope="col">State</th><th scope="col">Total</th><th scope="col">Left</th><th scope="col">Held</th><th scope="col">Sold</th><th scope="col">In queue</th><th scope="col">Admitted</th><th scope="col">Admit/s (set / measured)</th></tr></thead>
          <tbody>
            {sales.map((s) => {
              const heldUnits = s.stock_held ?? 0;
              const room = roomOf(s);
              return (
                <tr key={s.sale_id} data-sale={s.product.name}>
                  <th scope="row"><Link to={`/sales/${s.sale_id}`}>{s.product.name}</Link></th>
                  <td>{s.state}</td>
                  <td>{s.stock_total}</td>
                  <td data-col="left">{s.stock_remaining}</td>
                  <td data-col="held">{heldUnits}</td>
                  <td data-col="sold">{s.stock_total - s.stock_remaining - heldUnits}</td>
                  <td data-col="queue">{room?.length ?? '—'}</td>
                  <td data-col="admitted">{room?.admitted ?? '—'}</td>
                  <td data-col="rate">{room ? `${room.admit_per_second} / ${measured[s.sale_id] == null ? '—' : (measured[s.sale_id] ?? 0).toFixed(1)}` : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <MetricsPanel token={token} sales={sales} />
    </section>
  );
}
