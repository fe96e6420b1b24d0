/** SHA-256 digests as hex text, shared by the table manifest and policy versions. */

/** Lower-case hex SHA-256 of the bytes (WebCrypto: the same in Node and workerd). */
export async function sha256Hex(bytes: ArrayBuffer | ArrayBufferView): Promise<string> {
  const view = ArrayBuffer.isView(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : new Uint8Array(bytes);
  // Chunks never live in a SharedArrayBuffer; the cast only satisfies DOM's BufferSource.
  const digest = await crypto.subtle.digest('SHA-256', view as Uint8Array<ArrayBuffer>);
  let hex = '';
  for (const b of new Uint8Array(digest)) hex += b.toString(16).padStart(2, '0');
  return hex;
}
