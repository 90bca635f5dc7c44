import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import { ApiController } from './api/api.controller';
import { ArchiveController } from './api/archive.controller';
import { ReplicaSignalController } from './api/signal.controller';
import { ReplicaPauseController } from './api/replica-pause.controller';
import { ConfigObjectsController } from './api/config-objects.controller';
import { CLUSTER, ClusterContext } from './api/cluster.context';
import { HealthController } from './api/health.controller';
import { JoinController } from './api/join.controller';
import { CertificatesController } from './api/certificates.controller';
import { EventsController } from './api/events.controller';
import { VolumesController } from './api/volumes.controller';
import { ImagesController } from './api/images.controller';
import { ImageLifecycleController } from './api/image.lifecycle.controller';
import { NodesController } from './api/nodes.controller';
import { MonitoringController } from './api/monitoring.controller';
import { RolloutController } from './api/rollout.controller';
import { PlanController } from './api/plan.controller';
import { TokensController } from './api/tokens.controller';
import { WhoAmIController } from './api/whoami.controller';
import { AuthGuard } from './auth/auth.guard';
import { StoreErrorsFilter } from './api/store.errors.filter';
import { RegistryController } from './registry/registry.controller';
import { RegistryTokenController } from './registry/registry.token.controller';
import { UiController } from './ui/ui.controller';
import { WatchController } from './ui/watch.controller';
import { ServiceHistory } from './ui/service.history';

export const API_CONTROLLERS = [
  ApiController, ReplicaPauseController, ArchiveController, ReplicaSignalController, ConfigObjectsController, NodesController, ImageLifecycleController, ImagesController, HealthController, EventsController, VolumesController, MonitoringController, RolloutController, PlanController, TokensController,
  RegistryController, RegistryTokenController,
  WhoAmIController,
  JoinController, CertificatesController,
  UiController, WatchController,
];

@Module({})
export class AppModule implements NestModule {
  private static context: ClusterContext;

  static forCluster(context: ClusterContext): DynamicModule {
    AppModule.context = context;
    return {
      module: AppModule,
      controllers: API_CONTROLLERS,
      providers: [{ provide: CLUSTER, useValue: context }, { provide: APP_GUARD, useClass: AuthGuard }, { provide: APP_FILTER, useClass: StoreErrorsFilter }, ServiceHistory],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    const { metrics, auth } = AppModule.context;
    consumer.apply((req: Request, res: Response, next: NextFunction) => {
      const stop = metrics.httpDuration.startTimer({ method: req.method });
      res.on('finish', () => stop({ route: req.route?.path ?? 'unmatched', code: String(res.statusCode) }));
      next();
    }, (req: Request, res: Response, next: NextFunction) => {
      // Before anything else, /healthz included: a page on another name (DNS rebinding) gets nothing.
      const host = auth.checkHost(req);
      if (host.ok) return next();
      res.status(421).json({ error: `${host.reason}: address the API by one of its names`, details: [] });
    }).forRoutes('*');
  }
}
