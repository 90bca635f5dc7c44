/**
 * `/ui/`: the dashboard's files (ui.assets.ts), open to anyone who can reach the API, as a login page
 * is: they hold no data. Everything the dashboard shows comes from the API with the caller's token
 * (watch.controller.ts and the routes tsctl uses). Each answer forbids framing and any script,
 * style or connection from another origin (Content-Security-Policy).
 */
import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CLUSTER, ClusterContext } from '../api/cluster.context';
import { Public } from '../auth/access.decorator';
import { defaultUiDir, loadUiAssets, type UiAsset } from './ui.assets';

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    + "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

@Controller('ui')
export class UiController {
  private assets?: Map<string, UiAsset>;
  private readonly dir: string;

  constructor(@Inject(CLUSTER) cluster: ClusterContext) {
    this.dir = cluster.uiDir ?? defaultUiDir();
  }

  @Get()
  @Public()
  index(@Req() req: Request, @Res() res: Response): void {
    // "/ui" and "/ui/" both land here; the page's links are relative to "/ui/".
    if (!req.originalUrl.split('?')[0].endsWith('/')) return res.redirect(308, '/ui/');
    this.serve('index.html', req, res);
  }

  @Get('*path')
  @Public()
  file(@Req() req: Request, @Res() res: Response): void {
    this.serve(decodeURIComponent(req.path.replace(/^\/ui\//, '')) || 'index.html', req, res);
  }

  private serve(name: string, req: Request, res: Response): void {
    res.set(SECURITY_HEADERS);
    const asset = this.load().get(name);
    if (!asset) {
      const built = this.load().has('index.html');
      res.status(404).json({
        error: built ? `/ui/${name}: no such file in the dashboard` : `the dashboard is not built (no index.html in ${this.dir}): run "npm run build"`,
        details: [],
      });
      return;
    }
    res.set({ 'Content-Type': asset.contentType, 'Cache-Control': asset.cacheControl, ETag: asset.etag, Vary: 'Accept-Encoding' });
    if (req.headers['if-none-match'] === asset.etag) return void res.status(304).end();
    const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzip) res.set('Content-Encoding', 'gzip');
    res.status(200).end(gzip ? asset.gzip : asset.body);
  }

  /** Read once; a missing bundle is looked for again on the next request (a build may come later). */
  private load(): Map<string, UiAsset> {
    if (!this.assets || this.assets.size === 0) this.assets = loadUiAssets(this.dir);
    return this.assets;
  }
}
