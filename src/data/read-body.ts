// Reads an HTTP response body to the end, reporting bytes as they arrive (browser and Node).

/** `total` is the Content-Length, or null when the server does not say. */
export async function readBody(response: Response, onBytes?: (received: number, total: number | null) => void): Promise<Uint8Array> {
  const length = response.headers.get('content-length');
  const total = length === null ? null : Number(length);
  const chunks: Uint8Array[] = [];
  let received = 0;
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onBytes?.(received, total);
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}
