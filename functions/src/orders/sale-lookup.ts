// Finding the product's current sale in this instance's copy of the sale list, without a
// promise: the hot path's sale lookup (design.md §4.2).
import { currentSale } from '../lib/sale-state.js';
import type { LiveSale } from '../lib/sale-store.js';

/** Each copy of the sale list, grouped by product once, not on every attempt. */
const byProduct = new WeakMap<LiveSale[], Map<string, LiveSale[]>>();

function salesByProduct(sales: LiveSale[]): Map<string, LiveSale[]> {
  let grouped = byProduct.get(sales);
  if (!grouped) {
    grouped = new Map();
    for (const sale of sales) grouped.set(sale.product.product_id, [...(grouped.get(sale.product.product_id) ?? []), sale]);
    byProduct.set(sales, grouped);
  }
  return grouped;
}

/** The sale of `productId` that is current now in `sales`, if any. */
export function saleOfProductIn(sales: LiveSale[], productId: string): LiveSale | undefined {
  const ofProduct = salesByProduct(sales).get(productId);
  return ofProduct ? currentSale(ofProduct, Date.now()) : undefined;
}
