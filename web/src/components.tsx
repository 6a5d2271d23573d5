// Small pieces the pages share: a labelled field and the line that says what is wrong right now.
import type { ReactNode } from 'react';

export function Field(props: {
  label: string;
  id: string;
  type?: string;
  value: string;
  onChange: (v: string) => void;
  autoComplete?: string;
  inputMode?: 'numeric' | 'decimal' | 'email';
  min?: number;
  step?: string;
  hint?: string;
}) {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        name={props.id}
        type={props.type ?? 'text'}
        value={props.value}
        autoComplete={props.autoComplete}
        inputMode={props.inputMode}
        min={props.min}
        step={props.step}
        aria-describedby={props.hint ? `${props.id}-hint` : undefined}
        onChange={(e) => props.onChange(e.target.value)}
        required
      />
      {props.hint && <p className="hint" id={`${props.id}-hint`}>{props.hint}</p>}
    </div>
  );
}

/** A required choice of one of `sales`, by product name, beside Field. */
export function SaleSelect(props: { label: string; id: string; sales: readonly { sale_id: string; product: { name: string } }[]; value: string; onChange: (v: string) => void }) {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.target.value)} required>
        <option value="">Choose…</option>
        {props.sales.map((s) => <option key={s.sale_id} value={s.sale_id}>{s.product.name}</option>)}
      </select>
    </div>
  );
}

/**
 * What is wrong with the connection now ("no connection, we keep trying", "too many tries"),
 * announced once to screen readers; empty while all is well.
 */
export function ProblemLine({ problem }: { problem: string | null }) {
  return (
    <p className={problem ? 'problem' : 'problem empty'} role="status" aria-live="polite" data-problem={problem ? 'yes' : undefined}>
      {problem}
    </p>
  );
}

export function Loading({ children }: { children: ReactNode }) {
  return (
    <p className="loading" role="status">
      {children}
    </p>
  );
}
