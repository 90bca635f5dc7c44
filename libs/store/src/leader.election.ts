/** Leader election over etcd: only the elected control plane runs controllers and the scheduler. */
import { Campaign, Etcd3 } from 'etcd3';
import { ELECTION_NAME } from './keys';

export interface LeadershipHandlers {
  onElected(): void;
  onLost(): void;
}

export class LeaderElection {
  private campaign?: Campaign;
  private stopped = false;
  private leading = false;

  constructor(
    private readonly client: Etcd3,
    readonly identity: string,
    private readonly handlers: LeadershipHandlers,
    private readonly ttlSeconds = 5,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (this.stopped) return;
    const campaign = this.client.election(ELECTION_NAME, this.ttlSeconds).campaign(this.identity);
    this.campaign = campaign;
    campaign.on('elected', () => {
      this.leading = true;
      this.handlers.onElected();
    });
    campaign.on('error', () => {
      // Our session was lost (etcd unreachable, lease expired): stop leading at once, then run again.
      if (this.leading) {
        this.leading = false;
        this.handlers.onLost();
      }
      setTimeout(() => this.start(), 1000);
    });
  }

  async resign(): Promise<void> {
    this.stopped = true;
    if (this.leading) {
      this.leading = false;
      this.handlers.onLost();
    }
    await this.campaign?.resign().catch(() => undefined);
  }
}
