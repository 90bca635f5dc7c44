/**
 * `docker pull` (`POST /images/create?fromImage=&tag=`) and `docker push` (`POST /images/{name}/push?tag=`)
 * through Tide's registry API: every Ready node pulls the image, one node pushes it, with the
 * cluster's credentials (the client's X-Registry-Auth is accepted and not used: the Tide credential
 * of docker-serve is what the registry's tokens are issued for). A failure before anything is
 * written is Docker's error answer, as dockerd gives it when it has written nothing either; the
 * progress is the summary of the finished transfer (docker.progress.ts).
 */
import type * as http from 'node:http';
import type { NodeImage, NodeResult } from '@tide/api';
import { DockerError } from './docker.errors';
import type { DockerImages } from './docker.images';
import { JsonMessage, LayerTransfer, errorMessage, jsonLines, pullMessages, pushMessages } from './docker.progress';
import { familiarString, parseDockerRef } from './docker.refs';

interface PullAnswer {
  ref: string;
  results: NodeResult<{ image: NodeImage; digest: string; layers?: LayerTransfer[] }>[];
}

interface PushAnswer {
  repository: string;
  tag: string;
  digest: string;
  size?: number;
  layers?: LayerTransfer[];
}

export class DockerTransfers {
  constructor(private readonly images: DockerImages) {}

  async pull(params: URLSearchParams, res: http.ServerResponse): Promise<void> {
    if (params.get('fromSrc')) throw new DockerError(501, "Tide's Docker API does not support importing a root filesystem (docker import) yet: use \"tsctl image import\" with an image archive");
    const fromImage = params.get('fromImage');
    if (!fromImage) throw new DockerError(400, 'fromImage: the image to pull is required');
    const tag = params.get('tag');
    if (!tag && !/[:@][^/]*$/.test(fromImage)) throw new DockerError(501, "Tide's Docker API does not support pulling every tag of a repository (docker pull -a) yet: pull one tag");
    const ref = parseDockerRef(tag ? `${fromImage}${tag.startsWith('sha256:') ? '@' : ':'}${tag}` : fromImage);
    const name = familiarString(ref);
    const wanted = await this.images.storeRefOf(name);
    const before = new Map((await this.images.items()).filter((i) => i.ref === wanted).flatMap((i) => i.nodes.map((node) => [node, i.id] as const)));
    const pulled = await this.images.api.request<PullAnswer>('POST', '/api/v1/images/pull', { ref: name });
    const done = pulled.results.filter((r) => r.ok && r.value);
    const first = done[0]?.value;
    if (!first) throw new DockerError(502, `the pull of ${name} answered no node`);
    const moved = (digest: string) => done.some((r) => r.value?.layers?.find((l) => l.digest === digest)?.moved);
    const messages: JsonMessage[] = pullMessages({
      tagOrDigest: ref.digest ?? ref.tag ?? 'latest', repository: ref.repository, digest: first.digest, name,
      layers: (first.layers ?? []).map((l) => ({ digest: l.digest, moved: moved(l.digest) })),
      upToDate: done.length === pulled.results.length && done.every((r) => before.get(r.node) === r.value?.image.id),
    });
    const failed = pulled.results.filter((r) => !r.ok);
    if (failed.length > 0) messages.push(errorMessage(`pulled ${name} on ${done.map((r) => r.node).join(', ')}, but not on ${failed.map((r) => `${r.node} (${r.error})`).join(', ')}`));
    send(res, messages);
  }

  async push(name: string, params: URLSearchParams, res: http.ServerResponse): Promise<void> {
    const tag = params.get('tag');
    if (!tag && !/:[^/]*$/.test(name)) throw new DockerError(501, "Tide's Docker API does not support pushing every tag of a repository (docker push -a) yet: push one tag");
    const ref = parseDockerRef(tag ? `${name}:${tag}` : name);
    if (ref.digest) throw new DockerError(400, `cannot push a digest reference: ${name}`);
    const registry = await this.images.clusterRegistry();
    if (!registry) throw new DockerError(501, "this Tide cluster has no registry to push to: start it with \"tsctl up\" (embedded) or \"--registry HOST:PORT\"");
    if (ref.registry && ref.registry !== registry) {
      throw new DockerError(501, `Tide's Docker API pushes to the cluster's registry ${registry} only, not ${ref.registry}: tag the image ${registry}/${ref.repository}:${ref.tag ?? 'latest'} or ${ref.repository}:${ref.tag ?? 'latest'}`);
    }
    const storeName = await this.images.storeRefOf(familiarString(ref));
    if (!(await this.images.items()).some((i) => i.ref === storeName)) throw new DockerError(404, `An image does not exist locally with the tag: ${ref.registry ? `${ref.registry}/` : ''}${ref.repository}`);
    const pushed = await this.images.api.request<PushAnswer>('POST', '/api/v1/images/push', { ref: storeName });
    send(res, pushMessages({ repository: pushed.repository, tag: pushed.tag, digest: pushed.digest, size: pushed.size ?? 0, layers: pushed.layers ?? [] }));
  }
}

function send(res: http.ServerResponse, messages: JsonMessage[]): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(jsonLines(messages));
}
