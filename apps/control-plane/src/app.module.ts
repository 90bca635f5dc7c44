import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ApiController } from './api/api.controller';
import { CLUSTER, ClusterContext } from './api/cluster.context';
import { HealthController } from './api/health.controller';
import { EventsController } from './api/events.controller';
import { ImagesController } from './api/images.controller';
import { NodesController } from './api/nodes.controller';
import { MonitoringController } from './api/monitoring.controller';
import { RolloutController } from './api/rollout.controller';

@Module({})
export class AppModule implements NestModule {
  private static context: ClusterContext;

  static forCluster(context: ClusterContext): DynamicModule {
    AppModule.context = context;
    return { module: AppModule, controllers: [ApiController, NodesController, ImagesController, HealthController, EventsController, MonitoringController, RolloutController], providers: [{ provide: CLUSTER, useValue: context }] };
  }

  configure(consumer: MiddlewareConsumer): void {
    const metrics = AppModule.context.metrics;
    consumer.apply((req: Request, res: Response, next: NextFunction) => {
      const stop = metrics.httpDuration.startTimer({ method: req.method });
      res.on('finish', () => stop({ route: req.route?.path ?? 'unmatched', code: String(res.statusCode) }));
      next();
    }).forRoutes('*');
  }
}
