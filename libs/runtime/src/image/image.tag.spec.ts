/** Tags and image details in a real store: a tag is a second name of one image, removed on its own. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUSYBOX_REF, ensureBusyboxImage } from './busybox.image';
import { ImageStore } from './image.store';
import { imageDetails } from './image.inspect';
import { ImageError } from './image.types';

describe('image tags and details', () => {
  let work: string;
  let store: ImageStore;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-image-tag-'));
    await ensureBusyboxImage(path.join(work, 'images'));
    store = new ImageStore(path.join(work, 'images'));
  });

  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('names the same image twice, and untagging one name leaves the other', async () => {
    const tagged = await store.tag(BUSYBOX_REF, 'team/box');
    assert.equal(tagged.ref, 'team/box:latest');
    const [base, copy] = [await store.record(BUSYBOX_REF), await store.record('team/box:latest')];
    assert.deepEqual([copy?.config, copy?.manifest, copy?.layers], [base?.config, base?.manifest, base?.layers]);
    assert.ok(await store.untag('team/box:latest'));
    assert.ok(store.has(BUSYBOX_REF));
  });

  it('lists a record tagged or untagged at once, even when its listing before was reused', async () => {
    const images = path.join(work, 'images', 'images');
    const settled = new Date(Date.now() - 5000); // older than a listing's racy second: the next listing may be reused
    fs.utimesSync(images, settled, settled);
    const refs = async () => (await store.list()).map((r) => r.ref);
    assert.deepEqual(await refs(), [BUSYBOX_REF]);
    assert.deepEqual(await refs(), [BUSYBOX_REF], 'the same listing, from the directory unchanged');
    await store.tag(BUSYBOX_REF, 'team/listed');
    assert.deepEqual(await refs(), [BUSYBOX_REF, 'team/listed:latest'].sort());
    await store.untag('team/listed:latest');
    assert.deepEqual(await refs(), [BUSYBOX_REF]);
  });

  it('refuses to tag an image the store does not have', async () => {
    await assert.rejects(store.tag('absent:1', 'other:1'), (e: unknown) => e instanceof ImageError && e.code === 'NotFound' && /image "absent:1" not found on this node/.test(e.message));
  });

  it('gives the record and the config as stored', async () => {
    const details = await imageDetails(store, BUSYBOX_REF);
    const record = await store.record(BUSYBOX_REF);
    assert.deepEqual([details.id, details.manifest, details.layers], [record?.config, record?.manifest, record?.layers.map((l) => l.diffID)]);
    assert.deepEqual(details.config.rootfs.diff_ids, details.layers);
    assert.ok(details.sizeBytes > 0);
  });
});
