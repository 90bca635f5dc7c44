/**
 * Opening the dashboard in Chromium for the dashboard e2e and benchmark.
 */
import type { Page } from 'playwright-core';

/**
 * Loads /ui/ until the sign-in form shows. Chromium abandons a load when the machine's network
 * changes (net::ERR_NETWORK_CHANGED: here, any test adding or removing a bridge or a veth), the page
 * itself or one of its scripts, so a load that fails that way, or leaves no form, is tried again.
 */
export async function openUi(page: Page, server: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    // A load the network change cut short may be finished by Chromium's own reload, or interrupted
    // by it: either way, the form showing is what counts.
    const loading = await page.goto(`${server}/ui/`).then(() => undefined, (error: Error) => error);
    try {
      await page.getByLabel('Token').waitFor({ timeout: 20_000 });
      return;
    } catch (error) {
      if (attempt >= 5) throw loading ?? error;
    }
  }
}
