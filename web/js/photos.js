// Report photos made small on the phone before they are queued or sent: a camera's 4–10 MB picture
// would take minutes on a rural link and fill the phone's storage while it waits offline. A picture
// larger than MAX_SIDE pixels or MAX_BYTES is drawn on a canvas at most MAX_SIDE on its long side and
// encoded as JPEG, lowering the quality until it fits. The camera's EXIF block (position, time,
// camera) is carried over into the new JPEG, its orientation reset since the pixels are now upright,
// as the bureau reads it to check where and when a photo was taken. A file the browser cannot
// decode is passed on as it is, for the service to refuse with its own words.

/** Longest side of a photo as sent, in pixels. */
const MAX_SIDE = 1600;
/** Largest photo as sent, in bytes. */
const MAX_BYTES = 500 * 1024;
const QUALITIES = [0.85, 0.75, 0.65, 0.55, 0.45];

/**
 * The photo to send for `file`: the file itself when small enough, else a re-encoded JPEG.
 * @param {File} file
 * @returns {Promise<{blob: Blob, name: string, type: string}>}
 */
export async function compressPhoto(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    return { blob: file, name: file.name, type: file.type };
  }
  const { width, height } = bitmap;
  if (file.size <= MAX_BYTES && Math.max(width, height) <= MAX_SIDE) {
    bitmap.close();
    return { blob: file, name: file.name, type: file.type };
  }
  const exif = /jpe?g/i.test(file.type) ? exifSegment(new Uint8Array(await file.arrayBuffer())) : null;
  let scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  let body = null;
  // Quality first, then size: a picture too detailed for MAX_BYTES at MAX_SIDE is made smaller.
  for (let attempt = 0; attempt < 3 && !body; attempt++) {
    body = await encode(bitmap, Math.round(width * scale), Math.round(height * scale), attempt === 2);
    scale *= 0.75;
  }
  bitmap.close();
  const blob = exif ? withExif(new Uint8Array(await body.arrayBuffer()), exif) : body;
  return { blob, name: file.name.replace(/\.[^.]*$/, '') + '.jpg', type: 'image/jpeg' };
}

/** The bitmap drawn at w×h as JPEG at the best quality that fits MAX_BYTES; null if none does. */
async function encode(bitmap, w, h, anyQuality = false) {
  const canvas = new OffscreenCanvas(w, h);
  const g = canvas.getContext('2d');
  // A transparent PNG turns black in JPEG; a white ground keeps it as the officer saw it.
  g.fillStyle = '#fff';
  g.fillRect(0, 0, w, h);
  g.drawImage(bitmap, 0, 0, w, h);
  let blob = null;
  for (const quality of QUALITIES) {
    blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
    if (blob.size <= MAX_BYTES) return blob;
  }
  return anyQuality ? blob : null;
}

/**
 * The APP1 "Exif" segment of a JPEG (marker included), or null.
 * @param {Uint8Array} bytes
 */
function exifSegment(bytes) {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    if (marker === 0xda || marker === 0xd9) break;
    const isExif = marker === 0xe1 && String.fromCharCode(...bytes.subarray(at + 4, at + 10)) === 'Exif\0\0';
    if (isExif) return uprightExif(bytes.slice(at, at + 2 + length));
    at += 2 + length;
  }
  return null;
}

/** The segment with its Orientation tag (0x0112) set to 1, the pixels being upright now. */
function uprightExif(segment) {
  const tiff = 10;
  const view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
  const little = view.getUint16(tiff) === 0x4949;
  const ifd = tiff + view.getUint32(tiff + 4, little);
  if (ifd + 2 > segment.length) return segment;
  const count = view.getUint16(ifd, little);
  for (let i = 0; i < count; i++) {
    const tag = ifd + 2 + i * 12;
    if (tag + 12 > segment.length) break;
    if (view.getUint16(tag, little) === 0x0112) view.setUint16(tag + 8, 1, little);
  }
  return segment;
}

/** The JPEG `bytes` with `exif` inserted right after its start-of-image marker. */
function withExif(bytes, exif) {
  const out = new Uint8Array(bytes.length + exif.length);
  out.set(bytes.subarray(0, 2), 0);
  out.set(exif, 2);
  out.set(bytes.subarray(2), 2 + exif.length);
  return new Blob([out], { type: 'image/jpeg' });
}
