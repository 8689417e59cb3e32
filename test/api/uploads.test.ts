/**
 * Evidence uploads over HTTP against a real server and database: what is accepted, what is
 * refused (and that a refusal stores nothing), that the kept copy has no location, and who may
 * fetch it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import exifReader from 'exif-reader';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
// attachToCase is a domain function the workflow calls; the package's entry point does not list it.
import { AttachmentStore, attachToCase, pruneUnattached } from '../../server/src/domain/attachments';
import { makeUploadWorld, type UploadWorld } from '../fixtures/uploads/world';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';

const database = await testDatabase();
let server: TestServer;
let world: UploadWorld;
/** Tokens by who holds them. */
const token = { worker0: '', worker1: '', commander0: '', commander1: '' };

beforeAll(async () => {
  server = await startTestServer(database);
  world = await makeUploadWorld(database.db);
  const [d0, d1] = world.districts;
  token.worker0 = await server.login(d0!.workerUsername, world.password);
  token.worker1 = await server.login(d1!.workerUsername, world.password);
  token.commander0 = await server.login(d0!.commanderUsername, world.password);
  token.commander1 = await server.login(d1!.commanderUsername, world.password);
});
afterAll(() => server?.close());

// ---- images made here -----------------------------------------------------------------------

/** An XMP packet that also carries the position, as some phone apps write it. */
const xmpWithGps =
  '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">' +
  '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" ' +
  'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="27,43.2N" exif:GPSLongitude="109,11.7E"/>' +
  '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>';

/** A photo-like JPEG (noise compresses badly, like a real photo) with GPS in EXIF and XMP. */
async function photoWithGps(width = 800, height = 600): Promise<Buffer> {
  return sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#6a8',
      noise: { type: 'gaussian', mean: 120, sigma: 40 },
    },
  })
    .jpeg({ quality: 90 })
    .withExif({
      IFD0: { Make: 'Citygrid', Model: 'FieldCam 1', Artist: 'Grid worker' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '27/1 43/1 1234/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '109/1 11/1 4321/100',
      },
    })
    .withXmp(xmpWithGps)
    .toBuffer();
}

async function plainImage(format: 'png' | 'webp' | 'gif', width = 120, height = 90): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#36c' } })
    .toFormat(format)
    .toBuffer();
}

/** A genuine PNG of more than 12 MB: uncompressed noise. */
async function twelveMegabytePng(): Promise<Buffer> {
  const png = await sharp({
    create: {
      width: 2100,
      height: 2100,
      channels: 3,
      background: '#000',
      noise: { type: 'gaussian', mean: 128, sigma: 60 },
    },
  })
    .png({ compressionLevel: 0 })
    .toBuffer();
  expect(png.length).toBeGreaterThan(12 * 1024 * 1024);
  return png;
}

/**
 * A PNG whose header claims 9000×9000 pixels (81 MP) over a few bytes of data: the shape of a
 * decompression bomb, refused from its header before anything is decoded.
 */
function pngClaiming(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (bytes: Buffer) => {
    let c = 0xffffffff;
    for (const byte of bytes) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A small but real PDF. */
const pdf = Buffer.from(
  '%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n' +
    'trailer\n<< /Root 1 0 R >>\n%%EOF\n',
);

// ---- requests ---------------------------------------------------------------------------------

interface Answer {
  status: number;
  body: {
    id?: string;
    mime?: string;
    width?: number;
    height?: number;
    error?: { code: string; message: string };
  };
}

async function send(form: FormData, auth: string | undefined): Promise<Answer> {
  const response = await fetch(`${server.url}/uploads`, {
    method: 'POST',
    body: form,
    headers: auth ? { authorization: `Bearer ${auth}` } : {},
  });
  return { status: response.status, body: await response.json() };
}

function upload(bytes: Buffer, filename: string, auth: string | undefined, declaredType = 'image/jpeg') {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], { type: declaredType }), filename);
  return send(form, auth);
}

/** The same upload as a chunked body: no Content-Length for the server to check up front. */
async function uploadChunked(bytes: Buffer, filename: string, auth: string): Promise<Answer> {
  const boundary = '----citygrid-test-boundary';
  const parts = [
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
        'Content-Type: image/png\r\n\r\n',
    ),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ];
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) {
        // In 1 MB pieces, as a slow phone would send it.
        for (let at = 0; at < part.length; at += 1024 * 1024) {
          controller.enqueue(new Uint8Array(part.subarray(at, at + 1024 * 1024)));
        }
      }
      controller.close();
    },
  });
  const response = await fetch(`${server.url}/uploads`, {
    method: 'POST',
    body,
    duplex: 'half',
    headers: { authorization: `Bearer ${auth}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
  } as RequestInit);
  return { status: response.status, body: await response.json() };
}

async function download(id: string, auth: string, variant: '' | '/thumbnail' = '') {
  const response = await fetch(`${server.url}/attachments/${id}${variant}`, {
    headers: { authorization: `Bearer ${auth}` },
  });
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    bytes: Buffer.from(await response.arrayBuffer()),
  };
}

// ---- what is stored ---------------------------------------------------------------------------

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => statSync(join(dir, name)).isFile())
    .sort();
}

async function storedState() {
  const [{ n }] = (await rows<{ n: number }>(
    database.db,
    sql`SELECT count(*)::int AS n FROM attachments`,
  )) as [{ n: number }];
  return {
    rows: n,
    uploads: filesUnder(join(server.config.dataDir, 'uploads')),
    spool: filesUnder(join(server.config.dataDir, 'tmp')),
  };
}

async function attachmentRow(id: string) {
  const [row] = await rows<{
    sha256: string;
    mime: string;
    bytes: number;
    width: number;
    height: number;
    uploader_id: number;
    case_id: number | null;
  }>(
    database.db,
    sql`SELECT sha256, mime, bytes, width, height, uploader_id::int AS uploader_id, case_id::int AS case_id
        FROM attachments WHERE id = ${id}`,
  );
  return row;
}

function gpsOf(exif: Buffer | undefined) {
  return exif ? exifReader(exif).GPSInfo : undefined;
}

// ---- tests ------------------------------------------------------------------------------------

describe('POST /uploads accepts', () => {
  it('a real photo and keeps it without its GPS tags, at its size, stored by its hash', async () => {
    const photo = await photoWithGps(800, 600);
    // The test's own premise: the original does carry a position.
    const original = await sharp(photo).metadata();
    expect(gpsOf(original.exif)).toMatchObject({ GPSLatitudeRef: 'N', GPSLatitude: [27, 43, 12.34] });
    expect(original.xmp?.toString()).toContain('GPSLatitude');

    const answer = await upload(photo, 'IMG_0001.jpg', token.worker0);
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ mime: 'image/jpeg', width: 800, height: 600 });
    const id = answer.body.id!;

    const got = await download(id, token.worker0);
    expect(got.status).toBe(200);
    expect(got.type).toBe('image/jpeg');
    const kept = await sharp(got.bytes).metadata();
    expect([kept.format, kept.width, kept.height]).toEqual(['jpeg', 800, 600]);
    expect(gpsOf(kept.exif)).toBeUndefined();
    // No EXIF at all survives (camera make, owner name); the bytes do not even name the GPS IFD.
    expect(kept.exif).toBeUndefined();
    expect(kept.xmp).toBeUndefined();
    expect(got.bytes.includes(Buffer.from('Grid worker'))).toBe(false);
    expect(got.bytes.includes(Buffer.from('GPSLatitude'))).toBe(false);

    const sha256 = createHash('sha256').update(got.bytes).digest('hex');
    const row = await attachmentRow(id);
    expect(row).toEqual({
      sha256,
      mime: 'image/jpeg',
      bytes: got.bytes.length,
      width: 800,
      height: 600,
      uploader_id: world.districts[0]!.workerId,
      case_id: null,
    });
    const stored = join(
      server.config.dataDir,
      'uploads',
      sha256.slice(0, 2),
      sha256.slice(2, 4),
      `${sha256}.jpg`,
    );
    expect(readFileSync(stored).equals(got.bytes)).toBe(true);

    // Revalidation by the hash: an unchanged copy is not sent again.
    const again = await fetch(`${server.url}/attachments/${id}`, {
      headers: { authorization: `Bearer ${token.worker0}`, 'if-none-match': `"${sha256}"` },
    });
    expect(again.status).toBe(304);

    const thumb = await download(id, token.worker0, '/thumbnail');
    expect(thumb.status).toBe(200);
    expect(thumb.type).toBe('image/webp');
    const t = await sharp(thumb.bytes).metadata();
    expect([t.format, t.width, t.height]).toEqual(['webp', 320, 240]);
  });

  it('turns the pixels by the EXIF orientation and drops the tag', async () => {
    // Stored 200×100 with orientation 6 ("rotate 90° clockwise to view"): viewed as 100×200.
    const sideways = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#a33' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await sharp(sideways).metadata()).orientation).toBe(6);
    const answer = await upload(sideways, 'sideways.jpg', token.worker0);
    expect(answer.status).toBe(201);
    const got = await download(answer.body.id!, token.worker0);
    const kept = await sharp(got.bytes).metadata();
    expect([kept.width, kept.height, kept.orientation]).toEqual([100, 200, undefined]);
  });

  it.each([
    ['png', 'image/png'],
    ['webp', 'image/webp'],
  ] as const)('a %s, typed by its content whatever its name and declared type', async (format, mime) => {
    const image = await plainImage(format, 120, 90);
    const answer = await upload(image, 'picture.jpg', token.worker0, 'application/octet-stream');
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ mime, width: 120, height: 90 });
    const got = await download(answer.body.id!, token.worker0);
    expect(got.type).toBe(mime);
    expect((await sharp(got.bytes).metadata()).format).toBe(format);
  });

  it('the same photo twice as two attachments over one stored file', async () => {
    const photo = await photoWithGps(300, 200);
    const before = await storedState();
    const first = await upload(photo, 'a.jpg', token.worker0);
    const second = await upload(photo, 'b.jpg', token.worker0);
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(first.body.id).not.toBe(second.body.id);
    const after = await storedState();
    expect(after.rows).toBe(before.rows + 2);
    // One image and its thumbnail.
    expect(after.uploads.length).toBe(before.uploads.length + 2);
    expect((await attachmentRow(first.body.id!))!.sha256).toBe(
      (await attachmentRow(second.body.id!))!.sha256,
    );
  });

  it('a path-traversal filename, storing the file by its hash inside the store and nowhere else', async () => {
    const photo = await photoWithGps(320, 240);
    const dataDir = server.config.dataDir;
    const evil = '../../etc/passwd.jpg';
    const escapes = [
      resolve(dataDir, 'tmp', evil),
      resolve(dataDir, 'uploads', evil),
      resolve(dataDir, evil),
      resolve(dataDir, '..', 'passwd.jpg'),
      '/etc/passwd.jpg',
    ];
    expect(escapes.filter(existsSync)).toEqual([]);
    const before = filesUnder(dataDir);
    const answer = await upload(photo, evil, token.worker0);
    expect(answer.status).toBe(201);
    // The only new files anywhere in DATA_DIR: the image and its thumbnail, named by hash.
    const added = filesUnder(dataDir).filter((f) => !before.includes(f));
    expect(added).toHaveLength(2);
    for (const file of added) {
      expect(file).toMatch(/^uploads\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}\.(jpg|thumb\.webp)$/);
    }
    expect(escapes.filter(existsSync)).toEqual([]);
  });
});

describe('POST /uploads refuses, and stores nothing:', () => {
  async function expectRefused(attempt: () => Promise<Answer>, status: number, code: string) {
    const before = await storedState();
    const answer = await attempt();
    expect(answer.status).toBe(status);
    expect(answer.body.error?.code).toBe(code);
    expect(answer.body.error?.message).toEqual(expect.any(String));
    expect(answer.body.id).toBeUndefined();
    expect(await storedState()).toEqual(before);
  }

  it('a PDF named photo.jpg (415)', async () => {
    await expectRefused(() => upload(pdf, 'photo.jpg', token.worker0), 415, 'UNSUPPORTED_TYPE');
  });

  it('a GIF, a real image of a type we do not take (415)', async () => {
    await expectRefused(
      async () => upload(await plainImage('gif'), 'x.jpg', token.worker0),
      415,
      'UNSUPPORTED_TYPE',
    );
  });

  it('text that is no image at all (400)', async () => {
    await expectRefused(
      () => upload(Buffer.from('just some words, not a picture'), 'x.jpg', token.worker0),
      400,
      'NOT_AN_IMAGE',
    );
  });

  it('a 12 MB image (413), with a Content-Length and as a chunked stream', async () => {
    const big = await twelveMegabytePng();
    await expectRefused(() => upload(big, 'big.png', token.worker0, 'image/png'), 413, 'TOO_LARGE');
    await expectRefused(() => uploadChunked(big, 'big.png', token.worker0), 413, 'TOO_LARGE');
    // The connection pool is still healthy after the refusals: a normal upload goes through.
    expect((await upload(await plainImage('png'), 'ok.png', token.worker0)).status).toBe(201);
  });

  it('an upload the client abandons halfway, and one that streams on far past the limit', async () => {
    const before = await storedState();
    const boundary = '----citygrid-abandoned';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n`;
    const photo = await photoWithGps(640, 480);
    const abort = new AbortController();
    let sent = 0;
    const endless = (limit: number) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array(Buffer.from(head)));
          controller.enqueue(new Uint8Array(photo));
        },
        pull(controller) {
          if (sent >= limit) return new Promise(() => {}); // stalls: the client went quiet
          sent += 256 * 1024;
          controller.enqueue(new Uint8Array(256 * 1024));
        },
      });
    const post = (body: ReadableStream<Uint8Array>, signal?: AbortSignal) =>
      fetch(`${server.url}/uploads`, {
        method: 'POST',
        body,
        duplex: 'half',
        ...(signal ? { signal } : {}),
        headers: {
          authorization: `Bearer ${token.worker0}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
      } as RequestInit);

    // Abandoned: 1 MB arrives, then the client goes away.
    const abandoned = post(endless(1024 * 1024), abort.signal).catch((error: Error) => error);
    await vi.waitFor(async () => expect((await storedState()).spool).toHaveLength(1), { timeout: 10_000 });
    abort.abort();
    expect(await abandoned).toBeInstanceOf(Error);
    await vi.waitFor(async () => expect(await storedState()).toEqual(before), { timeout: 10_000 });

    // Runs on past twice the limit: cut off with 413 (or the connection closed under it).
    sent = 0;
    const endlessAnswer = await post(endless(25 * 1024 * 1024)).then(
      async (response) => ({ status: response.status, body: await response.json() }),
      (error: Error) => error,
    );
    if (!(endlessAnswer instanceof Error)) {
      expect(endlessAnswer.status).toBe(413);
      expect(endlessAnswer.body.error.code).toBe('TOO_LARGE');
    }
    await vi.waitFor(async () => expect(await storedState()).toEqual(before), { timeout: 10_000 });
  });

  it('a PNG claiming 81 megapixels (413)', async () => {
    const bomb = pngClaiming(9000, 9000);
    expect(await sharp(bomb).metadata()).toMatchObject({ format: 'png', width: 9000, height: 9000 });
    await expectRefused(() => upload(bomb, 'bomb.png', token.worker0, 'image/png'), 413, 'TOO_MANY_PIXELS');
  });

  it('a truncated JPEG (400)', async () => {
    const photo = await photoWithGps(640, 480);
    const cut = photo.subarray(0, Math.floor(photo.length * 0.6));
    // Its magic bytes still say JPEG: only decoding it to the end shows it is broken.
    expect((await sharp(cut).metadata()).format).toBe('jpeg');
    await expectRefused(() => upload(cut, 'cut.jpg', token.worker0), 400, 'CORRUPT_IMAGE');
  });

  it('a request without a token, or with a bad one (401)', async () => {
    const photo = await photoWithGps(100, 100);
    await expectRefused(() => upload(photo, 'a.jpg', undefined), 401, 'UNAUTHENTICATED');
    await expectRefused(() => upload(photo, 'a.jpg', `${token.worker0}x`), 401, 'UNAUTHENTICATED');
  });

  it('a form without a file, or with two (400)', async () => {
    const noFile = new FormData();
    noFile.append('note', 'forgot the photo');
    await expectRefused(() => send(noFile, token.worker0), 400, 'NO_FILE');
    const photo = await photoWithGps(100, 100);
    const two = new FormData();
    two.append('file', new Blob([new Uint8Array(photo)]), 'a.jpg');
    two.append('file', new Blob([new Uint8Array(photo)]), 'b.jpg');
    await expectRefused(() => send(two, token.worker0), 400, 'TOO_MANY_FILES');
  });

  it('a body that is not multipart (415)', async () => {
    await expectRefused(
      async () => {
        const response = await fetch(`${server.url}/uploads`, {
          method: 'POST',
          body: new Uint8Array(await photoWithGps(100, 100)),
          headers: { authorization: `Bearer ${token.worker0}`, 'content-type': 'image/jpeg' },
        });
        return { status: response.status, body: await response.json() };
      },
      415,
      'NOT_MULTIPART',
    );
  });
});

describe('GET /attachments/:id', () => {
  it('serves an attachment only to those who may see its case', async () => {
    const [d0] = world.districts;
    const answer = await upload(await photoWithGps(400, 300), 'evidence.jpg', token.worker0);
    const id = answer.body.id!;

    // Unattached: only its uploader.
    expect((await download(id, token.worker0)).status).toBe(200);
    expect((await download(id, token.commander0)).status).toBe(404);

    await database.db.transaction((tx) =>
      attachToCase(tx, { attachmentIds: [id], caseId: d0!.caseId, eventSeq: 1, actor: { id: d0!.workerId } }),
    );
    expect(await attachmentRow(id)).toMatchObject({ case_id: d0!.caseId });

    for (const who of ['worker0', 'commander0'] as const) {
      expect((await download(id, token[who])).status).toBe(200);
      expect((await download(id, token[who], '/thumbnail')).status).toBe(200);
    }
    // The other district's commander and worker: as if it did not exist.
    for (const who of ['commander1', 'worker1'] as const) {
      const original = await download(id, token[who]);
      const thumbnail = await download(id, token[who], '/thumbnail');
      expect([original.status, thumbnail.status]).toEqual([404, 404]);
      expect(JSON.parse(original.bytes.toString()).error.code).toBe('NOT_FOUND');
    }
  });

  it('answers 401 without a token and 404 for an unknown or malformed id', async () => {
    const answer = await upload(await plainImage('png'), 'a.png', token.worker0);
    const anonymous = await fetch(`${server.url}/attachments/${answer.body.id}`);
    expect(anonymous.status).toBe(401);
    expect((await download('00000000-0000-4000-8000-000000000000', token.worker0)).status).toBe(404);
    expect((await download('..%2F..%2Fetc%2Fpasswd', token.worker0)).status).toBe(404);
  });
});

describe('reportCase with attachmentIds', () => {
  const report = (attachmentIds: string[], key: string, district = 0) =>
    server.graphql<{ reportCase: { id: string } }>(
      `mutation Report($input: ReportCaseInput!) { reportCase(input: $input) { id } }`,
      {
        input: {
          idempotencyKey: key,
          categoryCode: world.categoryCode,
          description: 'broken manhole cover, photo attached',
          location: world.districts[district]!.point,
          attachmentIds,
        },
      },
      district === 0 ? token.worker0 : token.worker1,
    );

  it('attaches the photo to the new case, visible in its district and only there', async () => {
    const id = (await upload(await photoWithGps(400, 300), 'report.jpg', token.worker0)).body.id!;
    const { data, errors } = await report([id], `upl-report-${id}`);
    expect(errors).toBeUndefined();
    const caseId = Number(data!.reportCase.id);
    expect(await attachmentRow(id)).toMatchObject({ case_id: caseId });
    const [event] = await rows<{ event_seq: number }>(
      database.db,
      sql`SELECT event_seq FROM attachments WHERE id = ${id}`,
    );
    expect(event!.event_seq).toBe(1);
    expect((await download(id, token.commander0)).status).toBe(200);
    expect((await download(id, token.commander1)).status).toBe(404);
  });

  it('refuses a report carrying someone else’s upload, and writes no case', async () => {
    const theirs = (await upload(await plainImage('png'), 'theirs.png', token.worker1)).body.id!;
    const key = `upl-report-theirs-${theirs}`;
    const { data, errors } = await report([theirs], key);
    expect(data?.reportCase ?? null).toBeNull();
    expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const [count] = await rows<{ n: number }>(
      database.db,
      sql`SELECT count(*)::int AS n FROM cases WHERE idempotency_key = ${key}`,
    );
    expect(count!.n).toBe(0);
    expect((await attachmentRow(theirs))!.case_id).toBeNull();
  });
});

describe('attachToCase', () => {
  it('attaches only the actor’s own unattached uploads, all or none', async () => {
    const [d0, d1] = world.districts;
    const mine = (await upload(await plainImage('png'), 'a.png', token.worker0)).body.id!;
    const alsoMine = (await upload(await plainImage('webp'), 'b.webp', token.worker0)).body.id!;
    const theirs = (await upload(await plainImage('png'), 'c.png', token.worker1)).body.id!;
    const badInput = { code: 'BAD_USER_INPUT' };
    const attach = (attachmentIds: string[], actorId = d0!.workerId, caseId = d0!.caseId) =>
      database.db.transaction((tx) =>
        attachToCase(tx, { attachmentIds, caseId, eventSeq: 1, actor: { id: actorId } }),
      );

    // Someone else's upload in the list: refused, and my own in the same list stays unattached.
    await expect(attach([mine, theirs])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(attach([mine, theirs])).rejects.toThrow(theirs);
    expect((await attachmentRow(mine))!.case_id).toBeNull();
    await expect(attach(['00000000-0000-4000-8000-000000000000'])).rejects.toMatchObject(badInput);
    await expect(attach(['not-a-uuid'])).rejects.toMatchObject(badInput);

    await attach([mine, alsoMine, mine.toUpperCase()]);
    expect((await attachmentRow(mine))!.case_id).toBe(d0!.caseId);
    expect((await attachmentRow(alsoMine))!.case_id).toBe(d0!.caseId);
    // Attached once, never again — not even to another case by the same person.
    await expect(attach([mine], d0!.workerId, d1!.caseId)).rejects.toMatchObject(badInput);
    expect((await attachmentRow(mine))!.case_id).toBe(d0!.caseId);
    // An empty list is nothing to do.
    await expect(attach([])).resolves.toBeUndefined();
  });
});

describe('pruneUnattached', () => {
  it('drops week-old unattached uploads, and their files once nothing else shares them', async () => {
    const [d0] = world.districts;
    const shared = await photoWithGps(210, 140);
    const oldShared = (await upload(shared, 'a.jpg', token.worker0)).body.id!;
    const attachedShared = (await upload(shared, 'b.jpg', token.worker0)).body.id!;
    const oldAlone = (await upload(await photoWithGps(150, 100), 'c.jpg', token.worker0)).body.id!;
    const fresh = (await upload(await photoWithGps(90, 60), 'd.jpg', token.worker0)).body.id!;
    await database.db.transaction((tx) =>
      attachToCase(tx, {
        attachmentIds: [attachedShared],
        caseId: d0!.caseId,
        eventSeq: 1,
        actor: { id: d0!.workerId },
      }),
    );
    await database.db.execute(
      sql`UPDATE attachments SET created_at = now() - interval '8 days' WHERE id IN (${oldShared}, ${oldAlone}, ${attachedShared})`,
    );
    const sharedSha = (await attachmentRow(oldShared))!.sha256;
    const aloneSha = (await attachmentRow(oldAlone))!.sha256;
    const filesOf = async (sha: string) => (await storedState()).uploads.filter((f) => f.includes(sha));

    const store = new AttachmentStore(server.config.dataDir);
    const pruned = await pruneUnattached(database.db, store, new Date(Date.now() - 7 * 24 * 3600 * 1000));
    expect(pruned).toEqual({ attachments: 2, contents: 1 });

    expect(await attachmentRow(oldShared)).toBeUndefined();
    expect(await attachmentRow(oldAlone)).toBeUndefined();
    expect(await attachmentRow(attachedShared)).toBeDefined();
    expect(await attachmentRow(fresh)).toBeDefined();
    // The shared content stays for the attached upload; the lone one is gone with its thumbnail.
    expect(await filesOf(sharedSha)).toHaveLength(2);
    expect(await filesOf(aloneSha)).toEqual([]);
    expect((await download(attachedShared, token.worker0)).status).toBe(200);
    expect((await download(oldShared, token.worker0)).status).toBe(404);
    // Nothing left to do the second time.
    expect(await pruneUnattached(database.db, store, new Date(Date.now() - 7 * 24 * 3600 * 1000))).toEqual({
      attachments: 0,
      contents: 0,
    });
  });
});
