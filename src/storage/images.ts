import sharp from 'sharp'

// Images made from uploads with sharp (libvips): thumbnails of image files and avatars. sharp
// works on libuv's thread pool, so none of this blocks the event loop. Output is WebP, turned
// upright by its EXIF orientation and stripped of every piece of metadata (sharp writes none
// unless asked: no EXIF, so no GPS position, no ICC, no XMP).

/** The types shown as images: thumbnails are made of these, and avatars must be one. */
export const IMAGE_TYPES: ReadonlySet<string> = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
])
export const THUMBNAIL_MAX_SIDE = 480
export const AVATAR_SIDE = 256
/** Larger images are not decoded (a small file can declare a huge canvas). */
const MAX_INPUT_PIXELS = 100_000_000

// Files are read once each; caching them would only hold memory (and deleted files open).
sharp.cache(false)

const open = (path: string) => sharp(path, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' })

export interface ImageFacts {
  /** As displayed: after EXIF orientation. */
  width: number
  height: number
}

export interface Thumbnail extends ImageFacts {
  webp: Buffer
}

/**
 * The displayed size of the image at `path` and its WebP thumbnail (at most THUMBNAIL_MAX_SIDE on
 * the long side, never enlarged). Rejects when the bytes do not decode as an image.
 */
export async function makeThumbnail(path: string): Promise<Thumbnail> {
  const meta = await open(path).metadata()
  // An animated image is shown (and thumbnailed) by its first frame: one page's height.
  const height = meta.pageHeight ?? meta.height
  if (!meta.width || !height) throw new Error('no image size')
  // Orientations 5 to 8 turn the picture a quarter: its displayed width is its stored height.
  const turned = (meta.orientation ?? 1) >= 5
  const webp = await open(path)
    .rotate()
    .resize({
      width: THUMBNAIL_MAX_SIDE,
      height: THUMBNAIL_MAX_SIDE,
      fit: 'inside',
      withoutEnlargement: true,
    })
    .webp({ quality: 80 })
    .toBuffer()
  return {
    width: turned ? height : meta.width,
    height: turned ? meta.width : height,
    webp,
  }
}

/** A square AVATAR_SIDE WebP of the image's centre. Rejects when the bytes do not decode. */
export function makeAvatar(path: string): Promise<Buffer> {
  return open(path)
    .rotate()
    .resize({ width: AVATAR_SIDE, height: AVATAR_SIDE, fit: 'cover', position: 'centre' })
    .webp({ quality: 85 })
    .toBuffer()
}
