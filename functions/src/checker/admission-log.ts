// The waiting room's checker (docs/design.md §9): the published admission log of a sale
// (GET /sales/{sale_id}/queue/log) against its orders. Anyone can run it from the log and the
// order times; `npm run check` runs it on every ended sale with a room. Pure: no store here.
import type { QueueLog } from '@flash-sale/contract';
import { sha1Hex, sha256Hex } from '../lib/digest.js';

export interface AdmissionViolations {
  /** SHA-256 of the revealed seed is not the published seed_hash. */
  seed_mismatch: number;
  /** Pre-queue entries whose place is not their rank in the draw (SHA-1 of seed + ticket_hash). */
  shuffle_mismatch: number;
  /** Admitted places that skip a place not admitted before them, or admitted before an earlier place. */
  out_of_order: number;
  /** Admissions at which admitted-and-unserved buyers outnumbered the units that could still sell. */
  over_admitted: number;
  /** Uses of an admission outside it: served without being admitted, or after it lapsed. */
  served_outside: number;
  /** Orders of an `always` room beyond the admissions that were used: orders without admission. */
  orders_without_admission: number;
}

/** An order of the sale as the checker needs it: when its unit was taken, and when it came back. */
export interface OrderSpan {
  taken_ms: number;
  /** When the order ended unsold (failed, expired, cancelled); null while live or confirmed. */
  released_ms: number | null;
}

export interface RoomFacts {
  mode: 'off' | 'always' | 'above';
  stock: number;
  admissionSeconds: number;
}


export function noAdmissionViolations(): AdmissionViolations {
  return { seed_mismatch: 0, shuffle_mismatch: 0, out_of_order: 0, over_admitted: 0, served_outside: 0, orders_without_admission: 0 };
}

/**
 * Every rule of the log: the seed is the committed one, the draw is the seed's, admissions
 * follow the places, never more admitted-and-unserved than units available (stock less orders
 * live at that moment), and every order of an `always` room used an admission. Order times
 * are Redis's (taken_ms); a unit's return is PostgreSQL's commit, which Redis sees a moment
 * later: the checker counts it back early, so it may miss an over-admission that lasted less
 * than that moment, never report one that did not happen.
 */
export function checkAdmissionLog(log: QueueLog, orders: OrderSpan[], room: RoomFacts): AdmissionViolations {
  const v = noAdmissionViolations();
  if (sha256Hex(log.seed) !== log.seed_hash) v.seed_mismatch++;

  const pre = log.entries.filter((e) => e.pre_queue);
  const drawn = [...pre].sort((a, b) => {
    const ka = sha1Hex(log.seed + a.ticket_hash);
    const kb = sha1Hex(log.seed + b.ticket_hash);
    return ka === kb ? a.ticket_hash.localeCompare(b.ticket_hash) : ka.localeCompare(kb);
  });
  drawn.forEach((e, i) => {
    if (e.place !== i + 1) v.shuffle_mismatch++;
  });

  const byPlace = [...log.entries].sort((a, b) => a.place - b.place);
  let waitingSeen = false;
  let lastAt = -Infinity;
  for (const e of byPlace) {
    if (!e.admitted) {
      waitingSeen = true;
      continue;
    }
    const at = e.admitted_at ? Date.parse(e.admitted_at) : NaN;
    if (waitingSeen || !(at >= lastAt)) v.out_of_order++;
    if (at >= lastAt) lastAt = at;
  }

  const lapseMs = room.admissionSeconds * 1000;
  const admissions = byPlace
    .filter((e) => e.admitted && e.admitted_at)
    .map((e) => ({ at: Date.parse(e.admitted_at ?? ''), served: e.served_at ? Date.parse(e.served_at) : null }));
  for (const e of byPlace) {
    if (!e.served_at) continue;
    const served = Date.parse(e.served_at);
    const at = e.admitted_at ? Date.parse(e.admitted_at) : NaN;
    if (!e.admitted || !(served >= at && served < at + lapseMs)) v.served_outside++;
  }
  for (const { at } of admissions) {
    const unserved = admissions.filter((a) => a.at <= at && (a.served === null || a.served > at) && a.at + lapseMs > at).length;
    const live = orders.filter((o) => o.taken_ms <= at && (o.released_ms === null || o.released_ms > at)).length;
    if (unserved > room.stock - live) v.over_admitted++;
  }

  if (room.mode === 'always') {
    const served = byPlace.filter((e) => e.served_at).length;
    v.orders_without_admission = Math.max(0, orders.length - served);
  }
  return v;
}

/** The violations that are not zero, as `name: count`. */
export function admissionDetails(v: AdmissionViolations): string[] {
  return Object.entries(v)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name}: ${n}`);
}
