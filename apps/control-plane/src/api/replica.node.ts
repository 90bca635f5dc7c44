/** The node a replica runs on, for the routes that reach its agent (archive, signal): 404 and 400 in the API's shape otherwise. */
import { BadRequestException, NotFoundException } from '@nestjs/common';
import { Node, Replica } from '@tide/api';
import { ObjectStore } from '@tide/store';

/** `what` says what the replica lacks while unscheduled ("files to copy", "process to signal"). */
export async function nodeOfReplica(store: ObjectStore, namespace: string, name: string, what: string): Promise<Node> {
  const replica = await store.get<Replica>('Replica', namespace, name);
  if (!replica) throw new NotFoundException({ error: `replica "${name}" not found in namespace "${namespace}"`, details: [] });
  if (!replica.spec.nodeName) throw new BadRequestException({ error: `replica "${name}" is not scheduled yet: it has no ${what}`, details: [] });
  const node = await store.get<Node>('Node', 'default', replica.spec.nodeName);
  if (!node) throw new NotFoundException({ error: `node "${replica.spec.nodeName}" of replica "${name}" not found`, details: [] });
  return node;
}
