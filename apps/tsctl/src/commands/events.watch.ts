/**
 * `tsctl get events --watch`: the control plane's event stream (GET /api/v1/events?watch=1, one JSON
 * line per event), printed as rows as they come, in fixed-width columns since later rows cannot
 * realign earlier ones (as kubectl's watch does); `-o json` prints one event per line instead.
 */
import { TideEvent } from '@tide/api';
import { errorFromFetchResponse } from '../api/api.client';
import { eventRow } from '../output/resource.tables';
import { CommandContext, query } from './command';

const WIDTHS = [6, 8, 20, 40];

function fixedRow(cells: string[]): string {
  return cells.map((cell, i) => (i < WIDTHS.length ? cell.padEnd(WIDTHS[i]) : cell)).join('   ').trimEnd();
}

export async function watchEvents(ctx: CommandContext, namespace: string, json: boolean): Promise<void> {
  const response = await ctx.api.fetch('GET', `/api/v1/events${query({ namespace, watch: '1' })}`);
  if (!response.ok) throw await errorFromFetchResponse(response);
  const withNamespace = namespace === 'all';
  const header = ['AGE', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'];
  const print = (event: TideEvent) => {
    if (json) return ctx.out(JSON.stringify(event));
    const row = eventRow(event);
    ctx.out(withNamespace ? `${event.metadata.namespace.padEnd(12)}   ${fixedRow(row)}` : fixedRow(row));
  };
  if (!json) ctx.out(withNamespace ? `${'NAMESPACE'.padEnd(12)}   ${fixedRow(header)}` : fixedRow(header));
  let pending = '';
  for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
    pending += Buffer.from(chunk).toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) print((JSON.parse(line) as { object: TideEvent }).object);
  }
}
