// The waiting room's proof-of-work on joining (docs/api.md, Waiting room): find a nonce whose
// SHA-256 of "<sale_id>:<user_id>:<nonce>" starts with the sale's `proof_of_work_bits` zero bits. It costs a person's
// browser a second or two once, and a script that joins ten thousand times ten thousand of
// them. Solved off the page's thread (a Web Worker), or in small chunks between frames where
// there is no worker, so the page keeps answering while it runs.
export interface Challenge {
  challenge: string;
  /** Leading zero bits the hash must have; 0: no work asked. */
  difficulty: number;
}

/**
 * The join's challenge (docs/api.md, Waiting room): bound to the sale and the buyer, so there is
 * nothing to fetch and one solution serves every join of that buyer for that sale.
 */
export function joinChallenge(saleId: string, userId: string, bits: number): Challenge {
  return { challenge: `${saleId}:${userId}`, difficulty: bits };
}

/** How many zero bits `bytes` start with. */
export function leadingZeroBits(bytes: Uint8Array): number {
  let bits = 0;
  for (const byte of bytes) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

const encoder = new TextEncoder();

export async function proofHash(challenge: string, nonce: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(`${challenge}:${nonce}`)));
}

export async function meetsDifficulty(challenge: Challenge, nonce: string): Promise<boolean> {
  return leadingZeroBits(await proofHash(challenge.challenge, nonce)) >= challenge.difficulty;
}

export interface SolveOptions {
  /** Hashes per chunk; between chunks `pause` runs (the main thread's turn). */
  batch?: number;
  pause?: () => Promise<void>;
  signal?: AbortSignal;
}

/** The first nonce (a decimal counter) that meets the challenge. */
export async function solveChallenge(challenge: Challenge, options: SolveOptions = {}): Promise<string> {
  const batch = options.batch ?? 256;
  for (let n = 0; ; n += batch) {
    if (options.signal?.aborted) throw new Error('aborted');
    // A chunk's hashes run side by side: SubtleCrypto answers each in a promise.
    const nonces = Array.from({ length: batch }, (_, i) => String(n + i));
    const hashes = await Promise.all(nonces.map((nonce) => proofHash(challenge.challenge, nonce)));
    const found = hashes.findIndex((h) => leadingZeroBits(h) >= challenge.difficulty);
    if (found >= 0) return nonces[found] ?? '';
    await options.pause?.();
  }
}

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Solves in a Web Worker where there is one, else on this thread in chunks that give the page
 * its turn. Rejects when `signal` aborts.
 */
export async function solveInBackground(challenge: Challenge, signal?: AbortSignal): Promise<string> {
  if (challenge.difficulty <= 0) return '0';
  if (typeof Worker !== 'undefined') {
    try {
      const nonce = await new Promise<string>((resolve, reject) => {
        const worker = new Worker(new URL('./proof-of-work.worker.ts', import.meta.url), { type: 'module' });
        const stop = () => {
          worker.terminate();
          reject(new Error('aborted'));
        };
        signal?.addEventListener('abort', stop, { once: true });
        worker.onmessage = (event: MessageEvent<{ nonce?: string; error?: string }>) => {
          worker.terminate();
          signal?.removeEventListener('abort', stop);
          if (event.data.nonce !== undefined) resolve(event.data.nonce);
          else reject(new Error(event.data.error ?? 'no answer'));
        };
        worker.onerror = (event) => {
          worker.terminate();
          signal?.removeEventListener('abort', stop);
          event.preventDefault();
          reject(new Error('worker failed'));
        };
        worker.postMessage(challenge);
      });
      return nonce;
    } catch (err) {
      if (signal?.aborted) throw err;
      // No worker here (a strict policy, an old browser): the same work in chunks, below.
    }
  }
  return solveChallenge(challenge, { pause: nextTurn, signal });
}
