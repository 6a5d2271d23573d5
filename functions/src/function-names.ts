// The deployed functions by name, in order: the one list the handlers (targets.ts), the local
// stack's ports and the tests derive from. Free of imports, so scripts read it without loading
// every handler.

/** Each function's local port is the gateway's port + its index + 1 (README: 8081 … 8086). */
export const FUNCTION_NAMES = ['users', 'sales', 'orders', 'order-worker', 'sweeper', 'jwks'] as const;

export type FunctionTarget = (typeof FUNCTION_NAMES)[number];

/** The port a function listens on beside a local gateway on `gatewayPort`. */
export function localFunctionPort(gatewayPort: number, name: FunctionTarget): number {
  return gatewayPort + FUNCTION_NAMES.indexOf(name) + 1;
}

export function isFunctionTarget(name: string): name is FunctionTarget {
  return (FUNCTION_NAMES as readonly string[]).includes(name);
}
