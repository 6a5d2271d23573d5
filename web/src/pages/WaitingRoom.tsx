// The sale page's waiting room: the buyer's ticket (joined on arrival, proof-of-work answered in
// the background), followed with GET /sales/{id}/queue/me at the estimate as interval, and the
// screen that shows the place, the people ahead, the progress and the estimated wait. The page
// (SalePage) offers "Buy now" when the ticket says admitted, and the order's steps after it.
import { useCallback, useEffect, useRef, useState } from 'react';
import { call } from '../api';
import { formatCountdown, problemOf } from '../logic';
import { joinChallenge, solveInBackground } from '../proof-of-work';
import { formatWait, nextQueuePollMs, progressOf, roomWords, type QueueTicket, type RoomStep, type WaitingRoom } from '../waiting-room';

/** checking: asking whether the buyer has a ticket; solving: the proof-of-work runs; joining: the join is on its way. */
export type JoinPhase = 'idle' | 'checking' | 'solving' | 'joining' | 'joined' | 'refused';

export interface RoomFollow {
  phase: JoinPhase;
  ticket: QueueTicket | null;
  /** The most people seen ahead of the buyer: where the progress bar starts. */
  mostAhead: number | null;
  /** What is wrong right now, in a buyer's words (null: all well). */
  problem: string | null;
  /** Ask queue/me now (after a purchase, a payment, a cancel). */
  refresh: () => void;
}

interface Options {
  saleId: string;
  token: string | null;
  /** Follow the buyer's ticket (the sale has a room). */
  wanted: boolean;
  /** Join when there is no ticket yet (a room that is always on, or a 403 not_admitted seen). */
  autoJoin: boolean;
  /** How far the server's clock is ahead of this browser's (ms). */
  offsetMs: number;
  startsAtMs: number;
  endsAtMs: number;
  admissionSeconds: number;
  /** The sale's waiting_room.proof_of_work_bits: the join's work (0: none). */
  proofBits: number;
  /** The buyer's user id (the token's sub): the work is bound to it. */
  userId: string;
  onUnauthenticated: () => void;
}

const RETRY_MS = 2000;

export function useWaitingRoom(options: Options): RoomFollow {
  const { saleId, token, wanted, autoJoin } = options;
  const [phase, setPhase] = useState<JoinPhase>('idle');
  const [ticket, setTicket] = useState<QueueTicket | null>(null);
  const [mostAhead, setMostAhead] = useState<number | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const latest = useRef(options);
  latest.current = options;
  const askNow = useRef<() => void>(() => {});

  useEffect(() => {
    if (!wanted || !token) {
      setPhase('idle');
      return;
    }
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const abort = new AbortController();
    const queuePath = `/sales/${encodeURIComponent(saleId)}/queue`;
    const serverNow = () => Date.now() + latest.current.offsetMs;
    const visible = () => document.visibilityState === 'visible';

    const take = (t: QueueTicket) => {
      setTicket(t);
      setPhase('joined');
      setProblem(null);
      if (t.ahead !== null) setMostAhead((m) => Math.max(m ?? 0, t.ahead ?? 0));
    };
    const later = (ms: number | null) => {
      clearTimeout(timer);
      if (ms !== null && !stopped) timer = setTimeout(() => void ask(), ms);
    };
    const troubled = (answer: { status: number; retryAfterS?: number; body: { message?: string } }) => {
      setProblem(problemOf(answer) ?? answer.body.message ?? 'Could not reach the queue; retrying.');
      later(Math.max(RETRY_MS, (answer.retryAfterS ?? 0) * 1000));
    };

    const join = async () => {
      // The proof of work first, when the room asks for one (docs/api.md): nothing to fetch.
      const bits = latest.current.proofBits;
      let body: { proof_of_work?: string } = {};
      if (bits > 0) {
        setPhase('solving');
        try {
          body = { proof_of_work: await solveInBackground(joinChallenge(saleId, latest.current.userId, bits), abort.signal) };
        } catch {
          return;
        }
        if (stopped) return;
      }
      setPhase('joining');
      const answer = await call<QueueTicket>('POST', queuePath, { token, body });
      if (stopped) return;
      if (answer.status === 401) return latest.current.onUnauthenticated();
      if (answer.status === 200 || answer.status === 201) {
        take(answer.body);
        return later(nextQueuePollMs(answer.body, pollContext()));
      }
      if (answer.status === 0 || answer.status === 429 || answer.status >= 500) return troubled(answer);
      // A refusal (the sale ended, the room turned off, the work's bits changed since the figures
      // were read): said, and not tried again by itself.
      setPhase('refused');
      setProblem(answer.body.message ?? 'Could not join the queue.');
    };

    const pollContext = () => ({
      visible: visible(),
      nowMs: serverNow(),
      startsAtMs: latest.current.startsAtMs,
      endsAtMs: latest.current.endsAtMs,
      admissionSeconds: latest.current.admissionSeconds,
    });

    const ask = async () => {
      clearTimeout(timer);
      const answer = await call<QueueTicket>('GET', `${queuePath}/me`, { token });
      if (stopped) return;
      if (answer.status === 401) return latest.current.onUnauthenticated();
      if (answer.status === 200) {
        take(answer.body);
        return later(nextQueuePollMs(answer.body, pollContext()));
      }
      if (answer.status === 404) {
        // No ticket yet: join when the page should, else stay as a plain sale page.
        if (latest.current.autoJoin) return join();
        setPhase('idle');
        return;
      }
      if (answer.status === 0 || answer.status === 429 || answer.status >= 500) return troubled(answer);
      setPhase('refused');
      setProblem(answer.body.message ?? 'Could not read your place in the queue.');
    };
    askNow.current = () => void ask();

    setPhase('checking');
    void ask();
    const onVisible = () => {
      if (visible()) void ask();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      abort.abort();
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
      askNow.current = () => {};
    };
  }, [saleId, token, wanted, autoJoin]);

  const refresh = useCallback(() => askNow.current(), []);
  return { phase, ticket, mostAhead, problem, refresh };
}

/** The waiting-room screen: joining, the pre-queue, the place and its progress, or how it ended. */
export function WaitingRoomPanel({ room, follow, step, serverNowMs }: { room: WaitingRoom; follow: RoomFollow; step: RoomStep | null; serverNowMs: number }) {
  const { ticket, phase } = follow;
  if (!ticket || !step) {
    const joining = phase === 'checking' || phase === 'joining' || phase === 'solving';
    return (
      <div className="card room" data-room="joining" aria-busy={joining}>
        <h2>Waiting room</h2>
        {joining ? (
          <p className="loading" role="status">
            Joining the queue…{phase === 'solving' && ' Your browser is doing a short check that keeps automated buyers out; this takes a few seconds.'}
          </p>
        ) : (
          <p>Many people want this: buyers go in one at a time from a queue.</p>
        )}
        {room.length !== undefined && <p className="hint">{room.length} {room.length === 1 ? 'person' : 'people'} in the queue.</p>}
      </div>
    );
  }
  const words = roomWords(step, ticket);
  const progress = progressOf(ticket.ahead, follow.mostAhead);
  const admittedLeft = step === 'admitted' && ticket.admitted_until ? Date.parse(ticket.admitted_until) - serverNowMs : null;
  return (
    <div className={`card room ${step.replace(/ /g, '-')}`} data-room={step}>
      <h2 data-room-title>{words.title}</h2>
      {step === 'waiting' && (
        <>
          <dl className="room-figures">
            <div>
              <dt>Your place</dt>
              <dd data-place>{ticket.place}</dd>
            </div>
            <div>
              <dt>People ahead of you</dt>
              <dd data-ahead>{ticket.ahead}</dd>
            </div>
            <div>
              <dt>Estimated wait</dt>
              <dd data-estimate>{formatWait(ticket.estimated_wait_seconds)}</dd>
            </div>
          </dl>
          <progress className="room-progress" max={100} value={Math.round(progress * 100)} aria-label="Your progress through the queue">
            {Math.round(progress * 100)}%
          </progress>
        </>
      )}
      {step === 'pre-queue' && room.length !== undefined && (
        <p data-room-length>{room.length} {room.length === 1 ? 'person' : 'people'} in the waiting room so far.</p>
      )}
      {admittedLeft !== null && (
        <p>
          Your turn lasts <strong data-admitted-left>{formatCountdown(admittedLeft)}</strong>.
        </p>
      )}
      <p className="hint">{words.text}</p>
      {step === 'pre-queue' && room.seed_hash && (
        <details className="hint">
          <summary>How the draw is kept fair</summary>
          <p>
            The draw uses a secret seed whose fingerprint is published now and the seed itself after the sale, so anyone can check the places:{' '}
            <code data-seed-hash>{room.seed_hash}</code>
          </p>
        </details>
      )}
    </div>
  );
}
